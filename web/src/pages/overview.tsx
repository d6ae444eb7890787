import { useMemo } from 'preact/hooks';
import type { Kpi, Page, Segment } from '../api';
import { withQuery } from '../api';
import { Sparkline } from '../chart';
import { Card, ErrorBox, InfoTip, Loading, PageHeader, Segmented } from '../components';
import { useApp } from '../context';
import { useApi } from '../hooks';
import type { Formatter, MessageKey } from '../i18n';
import { addMonths, convert, granularityOf, isFuture, lastComplete, lastCompleteOfData, laterMonth, notEnded, shift, type Granularity } from '../periods';
import { api } from '../api';
import { useEffect, useState } from 'preact/hooks';
import { navigate, useRoute } from '../router';

export const OVERVIEW_KPIS = ['retention_rate', 'repeat_purchase_rate', 'clv_historic', 'mrr', 'revenue_churn_gross', 'nrr', 'nps', 'csat'] as const;
// KPIs where a fall is good news.
const LOWER_IS_BETTER = new Set(['revenue_churn_gross', 'revenue_churn_net', 'churn_rate']);
// Periods in the sparkline, ending with the shown one.
const SERIES: Record<Granularity, number> = { month: 12, quarter: 8, year: 5 };

export function formatKpi(fmt: Formatter, k: { unit: string; currency?: string; id: string }, v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  switch (k.unit) {
    case 'ratio': return fmt.percent(v, 1);
    case 'money': return fmt.money(v, k.currency);
    case 'count': return fmt.integer(v);
    default: return k.id === 'nps' ? `${v > 0 ? '+' : ''}${fmt.number(v, 1)}` : fmt.number(v, 1);
  }
}

function formatChange(fmt: Formatter, k: Kpi, cur: number, prev: number): { text: string; delta: number } {
  if (k.unit === 'ratio') {
    const d = (cur - prev) * 100;
    return { text: `${d >= 0 ? '+' : '−'}${fmt.number(Math.abs(d), 1)} ${fmt.locale === 'de' ? 'Pp.' : 'pp'}`, delta: d };
  }
  if (k.unit === 'score') {
    const d = cur - prev;
    return { text: `${d >= 0 ? '+' : '−'}${fmt.number(Math.abs(d), 1)}`, delta: d };
  }
  if (prev === 0) return { text: '', delta: 0 };
  const r = (cur - prev) / Math.abs(prev);
  return { text: `${r >= 0 ? '+' : '−'}${fmt.percent(Math.abs(r), 1)}`, delta: r };
}

export function OverviewPage() {
  const { fmt, workspace } = useApp();
  const route = useRoute();
  const zone = workspace?.time_zone ?? 'UTC';
  const asked = route.query.get('period');
  const g: Granularity = (asked && granularityOf(asked)) || (['month', 'quarter', 'year'].includes(route.query.get('g') ?? '') ? route.query.get('g') as Granularity : 'month');
  const dataEnd = useDataEnd();
  const period = asked && granularityOf(asked) ? asked : dataEnd === undefined ? null : lastCompleteOfData(g, dataEnd, zone);
  const segment = route.query.get('segment') ?? '';
  const go = (q: { g?: Granularity; period?: string; segment?: string }) =>
    navigate('/', { g: q.g ?? g, period: q.period ?? period, segment: q.segment ?? segment }, true);

  const kpis = useApi<{ data: Kpi[] }>(period ? withQuery('/api/v1/kpis', { period, series: SERIES[g], segment: segment || undefined }) : null);
  const segments = useApi<Page<Segment>>('/api/v1/segments?limit=500');
  const byId = useMemo(() => new Map((kpis.data?.data ?? []).map((k) => [k.id, k])), [kpis.data]);

  const periodText = (label: string) => (granularityOf(label) === 'month' ? fmt.monthLabel(label) : label);
  if (!period) return <><PageHeader title={fmt.t('overview.title')} /><Loading /></>;

  return (
    <>
      <PageHeader title={fmt.t('overview.title')} />
      <div class="toolbar" role="group" aria-label={fmt.t('overview.period')}>
        <Segmented name="granularity" label={fmt.t('overview.granularity')} value={g}
          options={(['month', 'quarter', 'year'] as Granularity[]).map((v) => ({ value: v, label: fmt.t(`overview.${v}` as MessageKey) }))}
          onChange={(v) => { const p = convert(period, v); go({ g: v, period: notEnded(p, zone) ? lastComplete(v, zone) : p }); }} />
        <div class="period-nav">
          <button type="button" class="btn btn-icon" aria-label={fmt.t('overview.prev')} onClick={() => go({ period: shift(period, -1) })} data-testid="period-prev">‹</button>
          <span class="period-label" data-testid="period" data-value={period} aria-live="polite">{periodText(period)}</span>
          <button type="button" class="btn btn-icon" aria-label={fmt.t('overview.next')} disabled={isFuture(shift(period, 1), zone)}
            onClick={() => go({ period: shift(period, 1) })} data-testid="period-next">›</button>
        </div>
        <label class="field field-inline">
          <span>{fmt.t('overview.segment')}</span>
          <select value={segment} onChange={(e) => go({ segment: e.currentTarget.value })} data-testid="segment-filter">
            <option value="">{fmt.t('overview.allCustomers')}</option>
            {(segments.data?.data ?? []).map((s) => <option key={s.id} value={s.name}>{s.name}</option>)}
          </select>
        </label>
      </div>
      {kpis.error ? <ErrorBox error={kpis.error} onRetry={kpis.reload} />
        : !kpis.data ? <Loading />
          : (
            <div class="kpi-grid" data-testid="kpi-grid" aria-busy={kpis.loading}>
              {OVERVIEW_KPIS.map((id) => <KpiCard key={id} id={id} kpi={byId.get(id)} />)}
            </div>
          )}
    </>
  );
}

function KpiCard({ id, kpi }: { id: string; kpi: Kpi | undefined }) {
  const { fmt } = useApp();
  const name = kpi?.name?.[fmt.locale] || (fmt.has(`kpi.${id}`) ? fmt.t(`kpi.${id}` as MessageKey) : id);
  const definition = kpi?.definition?.[fmt.locale] || (fmt.has(`kpidef.${id}`) ? fmt.t(`kpidef.${id}` as MessageKey) : '');
  if (!kpi) {
    return <Card class="kpi-card" testid={`kpi-card-${id}`}><div class="kpi-name">{name}</div><div class="kpi-value" data-testid={`kpi-${id}`} data-value="">—</div></Card>;
  }
  const series = kpi.series ?? [];
  const prev = series.length >= 2 ? series[series.length - 2]?.value ?? null : null;
  const change = kpi.value !== null && prev !== null ? formatChange(fmt, kpi, kpi.value, prev) : null;
  const good = change ? (LOWER_IS_BETTER.has(id) ? change.delta < 0 : change.delta > 0) : false;
  const flat = change ? Math.abs(change.delta) < 1e-9 : true;
  return (
    <Card class="kpi-card" testid={`kpi-card-${id}`}>
      <div class="kpi-name">
        <span>{name}</span>
        {definition && <InfoTip label={`${fmt.t('overview.definition')}: ${name}`} text={definition} />}
      </div>
      <div class="kpi-value" data-testid={`kpi-${id}`} data-value={kpi.value === null ? '' : String(kpi.value)}>{formatKpi(fmt, kpi, kpi.value)}</div>
      <div class="kpi-change">
        {kpi.value === null ? <span class="muted" data-testid={`kpi-null-${id}`}>{fmt.locale === 'en' && kpi.null_reason ? kpi.null_reason : fmt.t('overview.noValue')}</span>
          : change && change.text ? (
            <span class={flat ? 'muted' : good ? 'up' : 'down'} data-testid={`kpi-change-${id}`} data-value={String(change.delta)}>
              <span aria-hidden="true">{flat ? '→' : change.delta > 0 ? '▲' : '▼'}</span> {change.text} <span class="muted">{fmt.t('overview.change')}</span>
            </span>
          ) : <span class="muted">{fmt.t('overview.noPrev')}</span>}
      </div>
      {series.some((p) => p.value !== null) && (
        <Sparkline values={series.map((p) => p.value)} label={fmt.t('overview.trend', { name })} testid={`kpi-spark-${id}`} />
      )}
    </Card>
  );
}

// The month of the newest activity, from the cohort matrix (each cohort's row reaches the last
// period with data); null when unknown. Asked once per page load.
let dataEndPromise: Promise<string | null> | null = null;
function useDataEnd(): string | null | undefined {
  const [v, setV] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    dataEndPromise ??= api.get<{ cohorts: { cohort: string; values: unknown[] }[] }>('/api/v1/cohorts?by=month').then((c) => {
      let end: string | null = null;
      for (const row of c.cohorts) {
        if (!/^\d{4}-\d{2}$/.test(row.cohort)) continue;
        const last = addMonths(row.cohort, Math.max(0, row.values.length - 1));
        end = end ? laterMonth(end, last) : last;
      }
      return end;
    }, () => { dataEndPromise = null; return null; });
    let live = true;
    void dataEndPromise.then((e) => { if (live) setV(e); });
    return () => { live = false; };
  }, []);
  return v;
}
