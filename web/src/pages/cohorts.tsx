import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, withQuery, type Page } from '../api';
import { Chart, type ChartOption } from '../chart';
import { Async, Card, Empty, ErrorBox, Loading, PageHeader, Segmented } from '../components';
import { useApp } from '../context';
import { useApi } from '../hooks';
import { href, navigate, useRoute } from '../router';

interface Cohorts { by: string; basis: string; revenue: boolean; cohorts: { cohort: string; size: number; values: (number | null)[] }[] }
interface Member { id: string; email: string | null; name: string | null; revenue?: number | null }

export function CohortsPage() {
  const { fmt } = useApp();
  const route = useRoute();
  const by = route.query.get('by') === 'quarter' ? 'quarter' : 'month';
  const revenue = route.query.get('metric') === 'revenue';
  const [cell, setCell] = useState<{ cohort: string; offset: number } | null>(null);
  const go = (q: { by?: string; metric?: string }) => { setCell(null); navigate('/cohorts', { by: q.by ?? by, metric: q.metric ?? (revenue ? 'revenue' : 'customers') }, true); };
  const data = useApi<Cohorts>(withQuery('/api/v1/cohorts', { by, revenue: revenue ? 'true' : undefined }));

  return (
    <>
      <PageHeader title={fmt.t('cohorts.title')} />
      <div class="toolbar">
        <Segmented name="metric" label={fmt.t('cohorts.metric')} value={revenue ? 'revenue' : 'customers'}
          options={[{ value: 'customers', label: fmt.t('cohorts.customers') }, { value: 'revenue', label: fmt.t('cohorts.revenue') }]}
          onChange={(v) => go({ metric: v })} />
        <Segmented name="by" label={fmt.t('cohorts.by')} value={by}
          options={[{ value: 'month', label: fmt.t('overview.month') }, { value: 'quarter', label: fmt.t('overview.quarter') }]}
          onChange={(v) => go({ by: v })} />
      </div>
      <div class={`with-panel ${cell ? 'panel-open' : ''}`}>
        <div>
          <Async value={data}>{(d) => d.cohorts.length === 0 ? <Empty /> : <Matrix data={d} onCell={setCell} selected={cell} />}</Async>
        </div>
        {cell && <MembersPanel by={by} revenue={revenue} cohort={cell.cohort} offset={cell.offset} onClose={() => setCell(null)} />}
      </div>
    </>
  );
}

function Matrix({ data, onCell, selected }: { data: Cohorts; onCell: (c: { cohort: string; offset: number }) => void; selected: { cohort: string; offset: number } | null }) {
  const { fmt } = useApp();
  const cohorts = data.cohorts;
  const width = Math.max(...cohorts.map((c) => c.values.length));
  const option = useMemo<ChartOption>(() => {
    const points: [number, number, number | null][] = [];
    cohorts.forEach((c, y) => c.values.forEach((v, x) => points.push([x, y, v])));
    const showLabels = cohorts.length * width <= 120;
    // The colour scale spans the later periods; period 0 is 100 % by definition.
    const later = cohorts.flatMap((c) => c.values.slice(1)).filter((v): v is number => v !== null);
    const top = Math.min(data.revenue ? 1.5 : 1, Math.max(0.05, ...later));
    return {
      tooltip: {
        formatter: (p: { value: [number, number, number | null] }) => {
          const c = cohorts[p.value[1]]!;
          return `${fmt.t('cohorts.cohort')} ${c.cohort} (${fmt.integer(c.size)})<br/>+${p.value[0]}: <b>${fmt.percent(p.value[2], 1)}</b>`;
        },
      },
      grid: { left: 70, right: 20, top: 10, bottom: 60 },
      xAxis: { type: 'category', data: Array.from({ length: width }, (_, i) => String(i)), name: fmt.t('cohorts.offset'), nameLocation: 'middle', nameGap: 28, splitArea: { show: false } },
      yAxis: { type: 'category', data: cohorts.map((c) => c.cohort), inverse: true },
      visualMap: { min: 0, max: top, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, show: false,
        inRange: { color: ['#f3f5ff', '#9aa6f0', '#3b4fd8', '#1d2a8a'] } },
      series: [{
        type: 'heatmap', data: points,
        label: { show: showLabels, formatter: (p: { value: [number, number, number] }) => fmt.percent(p.value[2], 0), fontSize: 10 },
        emphasis: { itemStyle: { borderColor: '#111', borderWidth: 1 } },
      }],
    };
  }, [data, fmt]);
  return (
    <Card title={data.revenue ? fmt.t('cohorts.revenue') : fmt.t('cohorts.customers')}>
      <p class="muted small">{fmt.t('cohorts.hint')}</p>
      <Chart option={option} label={fmt.t('chart.label', { title: data.revenue ? fmt.t('cohorts.revenue') : fmt.t('cohorts.customers') })}
        height={Math.max(260, cohorts.length * 22 + 80)} testid="cohort-heatmap"
        onClick={(p) => { const v = p.value as [number, number]; const c = cohorts[v[1]]; if (c) onCell({ cohort: c.cohort, offset: v[0] }); }} />
      <details class="table-details">
        <summary>{fmt.t('cohorts.table')}</summary>
        <div class="table-wrap" tabIndex={0}>
          <table class="table compact" data-testid="cohort-table">
            <thead><tr><th scope="col">{fmt.t('cohorts.cohort')}</th><th scope="col">{fmt.t('cohorts.size')}</th>
              {Array.from({ length: width }, (_, i) => <th scope="col" key={i}>+{i}</th>)}</tr></thead>
            <tbody>
              {cohorts.map((c) => (
                <tr key={c.cohort} data-testid="cohort-row">
                  <th scope="row">{c.cohort}</th><td class="num">{fmt.integer(c.size)}</td>
                  {Array.from({ length: width }, (_, i) => {
                    const v = c.values[i];
                    const sel = selected?.cohort === c.cohort && selected.offset === i;
                    return (
                      <td key={i} class={`num ${sel ? 'selected' : ''}`} data-value={v ?? ''}>
                        {v === undefined ? '' : <button type="button" class="link-button" onClick={() => onCell({ cohort: c.cohort, offset: i })}>{fmt.percent(v, 0)}</button>}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </Card>
  );
}

function MembersPanel({ by, revenue, cohort, offset, onClose }: { by: string; revenue: boolean; cohort: string; offset: number; onClose: () => void }) {
  const { fmt } = useApp();
  const first = useApi<Page<Member>>(withQuery('/api/v1/cohorts/members', { by, cohort, offset, revenue: revenue ? 'true' : undefined, limit: 50 }));
  const [more, setMore] = useState<Member[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  useEffect(() => { setMore([]); setCursor(first.data?.next_cursor ?? null); }, [first.data]);
  const loadMore = async () => {
    try {
      const p = await api.get<Page<Member>>(withQuery('/api/v1/cohorts/members', { by, cohort, offset, revenue: revenue ? 'true' : undefined, limit: 50, cursor: cursor ?? undefined }));
      setMore((m) => [...m, ...p.data]);
      setCursor(p.next_cursor);
    } catch (e) { setMoreError(e); }
  };
  return (
    <aside class="side-panel card" aria-labelledby="cohort-panel-title" data-testid="cohort-panel">
      <div class="card-head">
        <h2 id="cohort-panel-title">{fmt.t('cohorts.members', { cohort: `${cohort} +${offset}` })}</h2>
        <button type="button" class="btn btn-icon" aria-label={fmt.t('common.close')} onClick={onClose}>×</button>
      </div>
      {first.error ? <ErrorBox error={first.error} onRetry={first.reload} /> : !first.data ? <Loading /> : (
        <>
          {first.data.total !== undefined && <p class="muted" data-testid="cohort-members-total" data-value={first.data.total}>{fmt.t('cohorts.membersOf', { count: fmt.integer(first.data.total) })}</p>}
          {first.data.data.length === 0 ? <Empty /> : (
            <ul class="member-list">
              {[...first.data.data, ...more].map((m) => (
                <li key={m.id} data-testid="cohort-member">
                  <a href={href(`/customers/${encodeURIComponent(m.id)}`)}>{m.name || m.email || m.id}</a>
                  <span class="muted small">{m.email && m.name ? m.email : m.id}</span>
                  {m.revenue !== undefined && m.revenue !== null && <span class="num small" data-value={m.revenue}>{fmt.money(m.revenue)}</span>}
                </li>
              ))}
            </ul>
          )}
          {moreError !== null && <ErrorBox error={moreError} />}
          {cursor && <button type="button" class="btn btn-block" onClick={() => void loadMore()}>{fmt.t('common.more')}</button>}
        </>
      )}
    </aside>
  );
}
