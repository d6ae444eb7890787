import { useMemo, useState } from 'preact/hooks';
import { withQuery, type Page, type Survey } from '../api';
import { Chart, PALETTE, type ChartOption } from '../chart';
import { Async, Card, Empty, ErrorBox, Loading, PageHeader, Stat } from '../components';
import { useApp } from '../context';
import { useApi, useDebounced } from '../hooks';
import type { Formatter, MessageKey } from '../i18n';
import { href, navigate, useRoute } from '../router';

interface Metric { value: number | null; answers: number; distribution: Record<string, number>; promoters?: number; passives?: number; detractors?: number; good_bad_ratio?: number | null }
interface Results {
  survey: string; invited: number; responses: number; response_rate: number | null; nps: Metric; csat: Metric; ces: Metric;
  verbatims: { customer_id: string; question: string; text: string; score: number | null; category: string | null; at: string }[];
  verbatims_total?: number;
  trend?: { period: string; responses: number; nps: number | null; csat: number | null; ces: number | null }[];
}
interface FollowUp { id: number; survey: string; customer_id: string; score: number; status: string; assignee: string; note: string; created_at: string }

export function SurveysPage() {
  const { fmt } = useApp();
  const route = useRoute();
  const surveys = useApi<Page<Survey>>('/api/v1/surveys');
  const followups = useApi<Page<FollowUp>>('/api/v1/followups?limit=50');
  const list = surveys.data?.data ?? [];
  const selected = Number(route.query.get('survey') ?? list[0]?.id ?? 0);
  const title = (s: Survey) => s.title?.[fmt.locale] ?? s.title?.en ?? s.name;
  return (
    <>
      <PageHeader title={fmt.t('surveys.title')}>
        {list.length > 1 && (
          <label class="field field-inline">
            <span>{fmt.t('surveys.select')}</span>
            <select value={selected} onChange={(e) => navigate('/surveys', { survey: e.currentTarget.value }, true)} data-testid="survey-select">
              {list.map((s) => <option key={s.id} value={s.id}>{title(s)}</option>)}
            </select>
          </label>
        )}
      </PageHeader>
      <Async value={surveys}>{(page) => page.data.length === 0 ? <Card><Empty>{fmt.t('surveys.none')}</Empty></Card> : <SurveyResults id={selected} />}</Async>
      <Card title={fmt.t('surveys.followups')} testid="followups">
        <Async value={followups}>{(p) => p.data.length === 0 ? <Empty>{fmt.t('surveys.noFollowups')}</Empty> : (
          <div class="table-wrap" tabIndex={0}>
            <table class="table">
              <thead><tr><th scope="col">{fmt.t('surveys.date')}</th><th scope="col">{fmt.t('surveys.customer')}</th><th scope="col">{fmt.t('surveys.select')}</th>
                <th scope="col" class="num">{fmt.t('surveys.score')}</th><th scope="col">{fmt.t('surveys.status')}</th><th scope="col">{fmt.t('surveys.assignee')}</th></tr></thead>
              <tbody>{p.data.map((f) => (
                <tr key={f.id} data-testid="followup-row">
                  <td>{fmt.date(f.created_at)}</td><td><a href={href(`/customers/${encodeURIComponent(f.customer_id)}`)}>{f.customer_id}</a></td>
                  <td>{f.survey}</td><td class="num">{f.score}</td><td><span class={`badge status-${f.status}`}>{fmt.has(`fu.${f.status}`) ? fmt.t(`fu.${f.status}` as MessageKey) : f.status}</span></td><td>{f.assignee || '—'}</td>
                </tr>
              ))}</tbody>
            </table>
          </div>
        )}</Async>
      </Card>
    </>
  );
}

function SurveyResults({ id }: { id: number }) {
  const { fmt } = useApp();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 300);
  const results = useApi<Results>(withQuery(`/api/v1/surveys/${id}/results`, { by: 'month', search: q || undefined }));
  if (results.error) return <ErrorBox error={results.error} onRetry={results.reload} />;
  if (!results.data) return <Loading />;
  const r = results.data;
  const rate = r.response_rate === null ? null : r.response_rate / 100;
  return (
    <>
      <div class="stat-row card">
        <Stat label={fmt.t('surveys.invited')} value={fmt.integer(r.invited)} raw={r.invited} testid="survey-invited" />
        <Stat label={fmt.t('surveys.responses')} value={fmt.integer(r.responses)} raw={r.responses} testid="survey-responses" />
        <Stat label={fmt.t('surveys.rate')} value={fmt.percent(rate, 1)} raw={r.response_rate} testid="survey-rate" />
        <Stat label={fmt.t('surveys.nps')} value={r.nps.value === null ? '—' : `${r.nps.value > 0 ? '+' : ''}${fmt.number(r.nps.value, 1)}`} raw={r.nps.value} testid="survey-nps" sub={fmt.t('surveys.answers', { count: fmt.integer(r.nps.answers) })} />
        <Stat label={fmt.t('surveys.csat')} value={fmt.number(r.csat.value, 1)} raw={r.csat.value} testid="survey-csat" sub={fmt.t('surveys.answers', { count: fmt.integer(r.csat.answers) })} />
        <Stat label={fmt.t('surveys.ces')} value={fmt.number(r.ces.value, 2)} raw={r.ces.value} testid="survey-ces" sub={fmt.t('surveys.answers', { count: fmt.integer(r.ces.answers) })} />
      </div>
      <div class="grid-3">
        {r.nps.answers > 0 && <DistCard title={`${fmt.t('surveys.nps')} · ${fmt.t('surveys.distribution')}`} m={r.nps} range={[0, 10]} colorOf={(s) => (s >= 9 ? '#17a589' : s >= 7 ? '#e0b41e' : '#c0392b')} />}
        {r.csat.answers > 0 && <DistCard title={`${fmt.t('surveys.csat')} · ${fmt.t('surveys.distribution')}`} m={r.csat} range={[1, 5]} colorOf={(s) => (s >= 4 ? '#17a589' : s === 3 ? '#e0b41e' : '#c0392b')} />}
        {r.ces.answers > 0 && <DistCard title={`${fmt.t('surveys.ces')} · ${fmt.t('surveys.distribution')}`} m={r.ces} range={[1, 7]} colorOf={() => PALETTE[0]!} />}
      </div>
      {r.trend && r.trend.length > 0 && <TrendCard trend={r.trend} fmt={fmt} />}
      <Card title={fmt.t('surveys.verbatims')} testid="verbatims"
        actions={<label class="field search-field"><span class="sr-only">{fmt.t('surveys.search')}</span>
          <input type="search" placeholder={fmt.t('surveys.search')} value={search} onInput={(e) => setSearch(e.currentTarget.value)} data-testid="verbatim-search" /></label>}>
        {r.verbatims.length === 0 ? <Empty>{fmt.t('surveys.noVerbatims')}</Empty> : (
          <ul class="verbatims">
            {r.verbatims.map((v, i) => (
              <li key={i} data-testid="verbatim">
                <blockquote>{v.text}</blockquote>
                <div class="muted small">
                  {v.score !== null && <span class={`badge cat-${v.category ?? ''}`}>{v.score}</span>}{' '}
                  <a href={href(`/customers/${encodeURIComponent(v.customer_id)}`)}>{v.customer_id}</a> · {fmt.date(v.at)}
                </div>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </>
  );
}

function DistCard({ title, m, range, colorOf }: { title: string; m: Metric; range: [number, number]; colorOf: (s: number) => string }) {
  const { fmt } = useApp();
  const option = useMemo<ChartOption>(() => {
    const scores = Array.from({ length: range[1] - range[0] + 1 }, (_, i) => range[0] + i);
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 40, right: 10, top: 10, bottom: 25 },
      xAxis: { type: 'category', data: scores.map(String) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', data: scores.map((s) => ({ value: m.distribution[String(s)] ?? 0, itemStyle: { color: colorOf(s) } })) }],
    };
  }, [m]);
  return (
    <Card title={title}>
      {m.promoters !== undefined && (
        <p class="small">
          {fmt.t('surveys.promoters')}: <b>{fmt.integer(m.promoters)}</b> · {fmt.t('surveys.passives')}: <b>{fmt.integer(m.passives)}</b> · {fmt.t('surveys.detractors')}: <b>{fmt.integer(m.detractors)}</b>
        </p>
      )}
      <Chart option={option} label={fmt.t('chart.label', { title })} height={200} />
    </Card>
  );
}

function TrendCard({ trend, fmt }: { trend: NonNullable<Results['trend']>; fmt: Formatter }) {
  const option = useMemo<ChartOption>(() => ({
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 50, right: 50, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: trend.map((p) => fmt.monthLabel(p.period)) },
    yAxis: [{ type: 'value' }, { type: 'value', splitLine: { show: false } }],
    series: [
      { name: fmt.t('surveys.responses'), type: 'bar', yAxisIndex: 1, data: trend.map((p) => p.responses), itemStyle: { color: '#d5dbf7' } },
      { name: 'NPS', type: 'line', data: trend.map((p) => p.nps), connectNulls: true, itemStyle: { color: PALETTE[0] } },
      { name: 'CSAT', type: 'line', data: trend.map((p) => p.csat), connectNulls: true, itemStyle: { color: PALETTE[1] } },
    ],
  }), [trend, fmt]);
  return <Card title={fmt.t('surveys.trend')}><Chart option={option} label={fmt.t('chart.label', { title: fmt.t('surveys.trend') })} height={260} /></Card>;
}
