import { useMemo, useState } from 'preact/hooks';
import { Chart, PALETTE, type ChartOption } from '../chart';
import { Async, Card, Empty, ErrorBox, Loading, PageHeader, Segmented, Stat } from '../components';
import { useApp } from '../context';
import { useApi } from '../hooks';
import { ApiError } from '../api';
import type { Formatter } from '../i18n';

interface Run {
  id: number; model: string; status: string; params: Record<string, number> | null; log_likelihood: number | null;
  n_customers: number | null; created_at: string; finished_at?: string | null; calibration_end?: string; unit?: string; error?: string | null;
}
interface Models { models: string[]; purchase_model: string; runs: Run[] }
interface Tracking { unit: string; calibration_end: string; points: { period_start: string; actual: number; predicted: number; actual_cumulative: number; predicted_cumulative: number }[] }
interface Hist { bins: { lo: number; hi: number; count: number }[]; mean: number | null; median: number | null }
interface Distribution { model: string; run_id: number; n: number; currency: string; p_alive: Hist; expected_purchases_90d: Hist; clv_12m: Hist }

export function PredictionsPage() {
  const { fmt } = useApp();
  const models = useApi<Models>('/api/v1/models');
  const dist = useApi<Distribution>('/api/v1/predictions/distribution?bins=20');
  const purchaseRun = models.data?.runs.find((r) => r.model === models.data?.purchase_model && r.status === 'succeeded');
  return (
    <>
      <PageHeader title={fmt.t('predictions.title')} />
      <Card title={fmt.t('predictions.runs')} testid="model-runs">
        <Async value={models}>{(m) => m.runs.length === 0 ? <Empty>{fmt.t('predictions.notFitted')}</Empty> : (
          <div class="table-wrap" tabIndex={0}>
            <table class="table">
              <thead><tr>
                <th scope="col">{fmt.t('predictions.model')}</th><th scope="col">{fmt.t('predictions.params')}</th>
                <th scope="col" class="num">{fmt.t('predictions.ll')}</th><th scope="col" class="num">{fmt.t('predictions.n')}</th>
                <th scope="col">{fmt.t('predictions.date')}</th><th scope="col">{fmt.t('predictions.status')}</th>
              </tr></thead>
              <tbody>
                {m.runs.map((r) => (
                  <tr key={r.id} data-testid="model-run" data-id={r.id}>
                    <th scope="row">{r.model}{r.model === m.purchase_model && <span class="badge">{fmt.t('predictions.default')}</span>}</th>
                    <td class="params">{r.params ? Object.entries(r.params).map(([k, v]) => <span key={k} class="param"><i>{k}</i> = {fmt.number(v, 4)}</span>) : '—'}</td>
                    <td class="num" data-value={r.log_likelihood ?? ''}>{fmt.number(r.log_likelihood, 1)}</td>
                    <td class="num" data-value={r.n_customers ?? ''}>{fmt.integer(r.n_customers)}</td>
                    <td>{fmt.dateTime(r.finished_at ?? r.created_at)}</td>
                    <td>{r.status}{r.error ? `: ${r.error}` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}</Async>
      </Card>
      {models.data && (purchaseRun ? <TrackingCard run={purchaseRun} /> : null)}
      {dist.error ? (
        dist.error instanceof ApiError && dist.error.status === 409 ? <Card><Empty>{fmt.t('predictions.notFitted')}</Empty></Card> : <ErrorBox error={dist.error} onRetry={dist.reload} />
      ) : !dist.data ? <Loading /> : (
        <div class="grid-2">
          <HistCard title={fmt.t('predictions.pAlive')} h={dist.data.p_alive} fmtX={(v) => fmt.percent(v, 0)} fmtStat={(v) => fmt.percent(v, 1)} id="p_alive" />
          <HistCard title={fmt.t('predictions.clv')} h={dist.data.clv_12m} fmtX={(v) => fmt.money(v, dist.data!.currency, true)} fmtStat={(v) => fmt.money(v, dist.data!.currency)} id="clv_12m" />
          <HistCard title={fmt.t('predictions.expected')} h={dist.data.expected_purchases_90d} fmtX={(v) => fmt.number(v, 2)} fmtStat={(v) => fmt.number(v, 2)} id="expected_purchases_90d" />
        </div>
      )}
    </>
  );
}

function TrackingCard({ run }: { run: Run }) {
  const { fmt } = useApp();
  const [mode, setMode] = useState<'incremental' | 'cumulative'>('cumulative');
  const tr = useApi<Tracking>(`/api/v1/models/runs/${run.id}/tracking`);
  const option = useMemo<ChartOption | null>(() => {
    if (!tr.data) return null;
    const pts = tr.data.points;
    const cum = mode === 'cumulative';
    const cal = tr.data.calibration_end;
    const calIndex = pts.findIndex((p) => p.period_start >= cal);
    return {
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => fmt.number(v, 1) },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: pts.map((p) => fmt.date(p.period_start)) },
      yAxis: { type: 'value' },
      series: [
        { name: fmt.t('predictions.actual'), type: 'line', symbol: 'none', data: pts.map((p) => (cum ? p.actual_cumulative : p.actual)), itemStyle: { color: PALETTE[0] },
          markLine: calIndex >= 0 ? { symbol: 'none', label: { formatter: fmt.t('predictions.calibrationEnd') }, lineStyle: { type: 'dashed', color: '#888' }, data: [{ xAxis: calIndex }] } : undefined },
        { name: fmt.t('predictions.predicted'), type: 'line', symbol: 'none', lineStyle: { type: 'dashed' }, data: pts.map((p) => (cum ? p.predicted_cumulative : p.predicted)), itemStyle: { color: PALETTE[2] } },
      ],
    };
  }, [tr.data, mode, fmt]);
  return (
    <Card title={`${fmt.t('predictions.tracking')} (${run.model})`} testid="tracking"
      actions={<Segmented name="tracking-mode" label={fmt.t('predictions.tracking')} value={mode} onChange={setMode}
        options={[{ value: 'incremental', label: fmt.t('predictions.incremental') }, { value: 'cumulative', label: fmt.t('predictions.cumulative') }]} />}>
      {tr.error ? <ErrorBox error={tr.error} onRetry={tr.reload} /> : !option ? <Loading /> : (
        <Chart option={option} label={fmt.t('chart.label', { title: fmt.t('predictions.tracking') })} height={320} testid="tracking-chart" />
      )}
    </Card>
  );
}

function HistCard({ title, h, fmtX, fmtStat, id }: { title: string; h: Hist; fmtX: (v: number) => string; fmtStat: (v: number) => string; id: string }) {
  const { fmt } = useApp();
  const option = useMemo<ChartOption>(() => histogram(fmt, h, fmtX), [h, fmt]);
  return (
    <Card title={title} testid={`hist-${id}`}>
      <div class="stat-row">
        <Stat label={fmt.t('predictions.mean')} value={h.mean === null ? '—' : fmtStat(h.mean)} raw={h.mean} testid={`dist-${id}-mean`} />
        <Stat label={fmt.t('predictions.median')} value={h.median === null ? '—' : fmtStat(h.median)} raw={h.median} testid={`dist-${id}-median`} />
      </div>
      <Chart option={option} label={fmt.t('chart.label', { title })} height={240} />
    </Card>
  );
}

export function histogram(fmt: Formatter, h: Hist, fmtX: (v: number) => string): ChartOption {
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: (ps: { dataIndex: number }[]) => {
      const b = h.bins[ps[0]!.dataIndex]!; return `${fmtX(b.lo)} – ${fmtX(b.hi)}: <b>${fmt.integer(b.count)}</b> ${fmt.t('predictions.customers')}`;
    } },
    grid: { left: 55, right: 10, top: 10, bottom: 30 },
    xAxis: { type: 'category', data: h.bins.map((b) => fmtX(b.lo)) },
    yAxis: { type: 'value', axisLabel: { formatter: (v: number) => fmt.integer(v) } },
    series: [{ type: 'bar', data: h.bins.map((b) => b.count), barCategoryGap: '8%', itemStyle: { color: PALETTE[0] } }],
  };
}
