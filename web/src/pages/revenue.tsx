import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, withQuery } from '../api';
import { Chart, PALETTE, type ChartOption } from '../chart';
import { Card, ErrorBox, Loading, PageHeader, Segmented, Stat } from '../components';
import { useApp } from '../context';
import type { MessageKey } from '../i18n';
import { lastComplete, monthsBack } from '../periods';
import { navigate, useRoute } from '../router';

interface Mrr {
  period: string; currency: string; mrr_start: number; mrr_end: number; accounts_start?: number; accounts_end?: number;
  nrr?: number | null; grr?: number | null;
  movements: { new: number; expansion: number; reactivation: number; contraction: number; churn: number };
}
const UP = ['new', 'expansion', 'reactivation'] as const;
const DOWN = ['contraction', 'churn'] as const;
const COLORS: Record<string, string> = { new: '#17a589', expansion: '#2e86c1', reactivation: '#8e44ad', contraction: '#e08a1e', churn: '#c0392b' };

export function RevenuePage() {
  const { fmt, workspace } = useApp();
  const route = useRoute();
  const n = Number(route.query.get('months') ?? 12) === 24 ? 24 : 12;
  const end = lastComplete('month', workspace?.time_zone ?? 'UTC');
  const months = useMemo(() => monthsBack(end, n), [end, n]);
  const [rows, setRows] = useState<Mrr[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const selected = route.query.get('period') ?? end;

  useEffect(() => {
    const ctl = new AbortController();
    setRows(null); setError(null);
    Promise.all(months.map((m) => api.get<Mrr>(withQuery('/api/v1/mrr', { period: m }), undefined, ctl.signal)))
      .then((r) => { if (!ctl.signal.aborted) setRows(r); }, (e: unknown) => { if (!ctl.signal.aborted) setError(e); });
    return () => ctl.abort();
  }, [months, tick]);

  const sel = rows?.find((r) => r.period === selected) ?? rows?.[rows.length - 1];
  const label = (k: string) => fmt.t(`mov.${k}` as MessageKey);

  const trend = useMemo<ChartOption | null>(() => rows && {
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => fmt.money(v) },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 70, right: 70, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: rows.map((r) => fmt.monthLabel(r.period)) },
    yAxis: [
      { type: 'value', axisLabel: { formatter: (v: number) => fmt.money(v, undefined, true) } },
      { type: 'value', axisLabel: { formatter: (v: number) => fmt.money(v, undefined, true) }, splitLine: { show: false } },
    ],
    series: [
      ...UP.map((k) => ({ name: label(k), type: 'bar', stack: 'm', data: rows.map((r) => r.movements[k]), itemStyle: { color: COLORS[k] } })),
      ...DOWN.map((k) => ({ name: label(k), type: 'bar', stack: 'm', data: rows.map((r) => -r.movements[k]), itemStyle: { color: COLORS[k] } })),
      { name: fmt.t('revenue.mrr'), type: 'line', yAxisIndex: 1, data: rows.map((r) => r.mrr_end), itemStyle: { color: PALETTE[0] }, symbolSize: 6 },
    ],
  }, [rows, fmt]);

  const waterfall = useMemo<ChartOption | null>(() => {
    if (!sel) return null;
    const steps: { name: string; delta: number; color: string; total?: boolean }[] = [
      { name: fmt.t('revenue.start'), delta: sel.mrr_start, color: PALETTE[0]!, total: true },
      ...UP.map((k) => ({ name: label(k), delta: sel.movements[k], color: COLORS[k]! })),
      ...DOWN.map((k) => ({ name: label(k), delta: -sel.movements[k], color: COLORS[k]! })),
      { name: fmt.t('revenue.end'), delta: sel.mrr_end, color: PALETTE[0]!, total: true },
    ];
    let level = 0;
    const base: number[] = [], bar: { value: number; itemStyle: { color: string } }[] = [];
    for (const s of steps) {
      if (s.total) { base.push(0); bar.push({ value: s.delta, itemStyle: { color: s.color } }); level = s.delta; continue; }
      const next = level + s.delta;
      base.push(Math.min(level, next));
      bar.push({ value: Math.abs(s.delta), itemStyle: { color: s.color } });
      level = next;
    }
    const lo = Math.min(sel.mrr_start, sel.mrr_end);
    const floor = Math.max(0, lo - (Math.abs(sel.mrr_end - sel.mrr_start) + Object.values(sel.movements).reduce((a, b) => a + b, 0)) * 1.5);
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
        formatter: (ps: { dataIndex: number }[]) => { const i = ps[0]!.dataIndex; const s = steps[i]!; return `${s.name}: <b>${s.total ? '' : s.delta >= 0 ? '+' : '−'}${fmt.money(Math.abs(s.delta))}</b>`; } },
      grid: { left: 80, right: 20, top: 20, bottom: 50 },
      xAxis: { type: 'category', data: steps.map((s) => s.name), axisLabel: { interval: 0, rotate: 20 } },
      yAxis: { type: 'value', min: niceFloor(floor), axisLabel: { formatter: (v: number) => fmt.money(v, undefined, true) } },
      series: [
        { type: 'bar', stack: 'w', data: base, itemStyle: { color: 'transparent' }, emphasis: { disabled: true }, silent: true },
        { type: 'bar', stack: 'w', data: bar, labelLayout: { hideOverlap: true }, label: { show: true, position: 'top', fontSize: 10, formatter: (p: { dataIndex: number }) => fmt.money(steps[p.dataIndex]!.delta, undefined, true) } },
      ],
    };
  }, [sel, fmt]);

  return (
    <>
      <PageHeader title={fmt.t('revenue.title')} />
      <div class="toolbar">
        <Segmented name="months" label={fmt.t('revenue.months')} value={String(n)} options={[{ value: '12', label: '12' }, { value: '24', label: '24' }]}
          onChange={(v) => navigate('/revenue', { months: v, period: selected }, true)} />
        {rows && (
          <label class="field field-inline">
            <span>{fmt.t('revenue.selectPeriod')}</span>
            <select value={sel?.period} onChange={(e) => navigate('/revenue', { months: n, period: e.currentTarget.value }, true)} data-testid="waterfall-period">
              {rows.map((r) => <option key={r.period} value={r.period}>{fmt.monthLabel(r.period)}</option>)}
            </select>
          </label>
        )}
      </div>
      {error ? <ErrorBox error={error} onRetry={() => setTick((t) => t + 1)} /> : !rows || !trend ? <Loading /> : (
        <>
          {sel && (
            <div class="stat-row">
              <Stat label={fmt.t('revenue.start')} value={fmt.money(sel.mrr_start, sel.currency)} raw={sel.mrr_start} testid="mrr-start" />
              <Stat label={fmt.t('revenue.end')} value={fmt.money(sel.mrr_end, sel.currency)} raw={sel.mrr_end} testid="mrr-end" />
              {UP.map((k) => <Stat key={k} label={label(k)} value={`+${fmt.money(sel.movements[k], sel.currency)}`} raw={sel.movements[k]} testid={`mrr-${k}`} />)}
              {DOWN.map((k) => <Stat key={k} label={label(k)} value={`−${fmt.money(sel.movements[k], sel.currency)}`} raw={sel.movements[k]} testid={`mrr-${k}`} />)}
            </div>
          )}
          <Card title={fmt.t('revenue.movements')}>
            <Chart option={trend} label={fmt.t('chart.label', { title: fmt.t('revenue.movements') })} height={340} testid="mrr-chart"
              onClick={(p) => { const r = rows[p.dataIndex]; if (r) navigate('/revenue', { months: n, period: r.period }, true); }} />
          </Card>
          {waterfall && sel && (
            <Card title={fmt.t('revenue.waterfall', { period: fmt.monthLabel(sel.period) })}>
              <Chart option={waterfall} label={fmt.t('chart.label', { title: fmt.t('revenue.waterfall', { period: sel.period }) })} height={320} testid="mrr-waterfall" />
            </Card>
          )}
        </>
      )}
    </>
  );
}

function niceFloor(v: number): number {
  if (v <= 0) return 0;
  const step = 10 ** Math.floor(Math.log10(v) - 1);
  return Math.floor(v / step) * step;
}
