import { useMemo } from 'preact/hooks';
import { Chart, type ChartOption } from '../chart';
import { Async, Card, Empty, ErrorBox, Loading, PageHeader, Stat } from '../components';
import { useApp } from '../context';
import { useApi } from '../hooks';
import type { MessageKey } from '../i18n';
import { ApiError, type Page } from '../api';

interface Program { name: string; points_name?: string; expiry_days?: number | null; pending_days?: number | null; tiers?: { name: string; threshold: number }[] }
interface Flow { period: string; issued: number; reversed: number; redeemed: number; expired: number; debited: number }
interface Report {
  members: number; liability: { available: number; pending: number; held: number; total: number };
  redemption_rate: number | null; breakage_rate: number | null; expected_breakage?: number;
  flows: Flow[]; total?: Flow; tiers: { tier: string; members: number }[];
}
interface Reward { id: number; name: string; title?: string; kind: string; points: number; redeemed: number; stock: number | null; active: boolean; tiers: string[] }

const FLOW_KEYS = ['issued', 'reversed', 'redeemed', 'expired', 'debited'] as const;
const FLOW_LABEL: Record<string, MessageKey> = { issued: 'loyalty.issued', reversed: 'loyalty.reversed', redeemed: 'loyalty.redeemedFlow', expired: 'loyalty.expired', debited: 'loyalty.debited' };
const FLOW_COLOR: Record<string, string> = { issued: '#17a589', reversed: '#e0b41e', redeemed: '#3b4fd8', expired: '#c0392b', debited: '#8e44ad' };

export function LoyaltyPage() {
  const { fmt } = useApp();
  const program = useApi<Program>('/api/v1/loyalty/program');
  const report = useApi<Report>('/api/v1/loyalty/report?by=month&periods=12');
  const rewards = useApi<Page<Reward>>('/api/v1/loyalty/rewards');
  if (program.error instanceof ApiError && program.error.status === 404 && !report.data) {
    return <><PageHeader title={fmt.t('loyalty.title')} /><Card><Empty>{fmt.t('loyalty.noProgram')}</Empty></Card></>;
  }
  const tierMembers = new Map((report.data?.tiers ?? []).map((t) => [t.tier, t.members]));
  return (
    <>
      <PageHeader title={program.data?.name ? `${fmt.t('loyalty.title')}: ${program.data.name}` : fmt.t('loyalty.title')} />
      {report.error ? <ErrorBox error={report.error} onRetry={report.reload} /> : !report.data ? <Loading /> : (
        <div class="stat-row card" data-testid="loyalty-summary">
          <Stat label={fmt.t('loyalty.members')} value={fmt.integer(report.data.members)} raw={report.data.members} testid="loyalty-members" />
          <Stat label={fmt.t('loyalty.liability')} value={fmt.integer(report.data.liability.total)} raw={report.data.liability.total} testid="loyalty-liability"
            sub={`${fmt.t('loyalty.available')} ${fmt.integer(report.data.liability.available)} · ${fmt.t('loyalty.pending')} ${fmt.integer(report.data.liability.pending)} · ${fmt.t('loyalty.held')} ${fmt.integer(report.data.liability.held)}`} />
          <Stat label={fmt.t('loyalty.redemptionRate')} value={fmt.percent(report.data.redemption_rate, 1)} raw={report.data.redemption_rate} testid="loyalty-redemption-rate" />
          <Stat label={fmt.t('loyalty.breakageRate')} value={fmt.percent(report.data.breakage_rate, 1)} raw={report.data.breakage_rate} testid="loyalty-breakage-rate" />
        </div>
      )}
      <div class="grid-2">
        <Card title={fmt.t('loyalty.program')} testid="loyalty-program">
          <Async value={program}>{(p) => (
            <>
              <ul class="plain">
                {p.expiry_days ? <li>{fmt.t('loyalty.expiry', { days: fmt.integer(p.expiry_days) })}</li> : null}
                {p.pending_days ? <li>{fmt.t('loyalty.pendingDays', { days: fmt.integer(p.pending_days) })}</li> : null}
              </ul>
              <h3>{fmt.t('loyalty.tiers')}</h3>
              <table class="table compact" data-testid="loyalty-tiers">
                <thead><tr><th scope="col">{fmt.t('loyalty.tier')}</th><th scope="col" class="num">{fmt.t('loyalty.threshold')}</th><th scope="col" class="num">{fmt.t('loyalty.members')}</th></tr></thead>
                <tbody>{(p.tiers ?? []).map((t) => (
                  <tr key={t.name} data-testid="tier-row" data-tier={t.name}>
                    <th scope="row">{t.name}</th><td class="num">{fmt.integer(t.threshold)}</td>
                    <td class="num" data-testid="tier-members" data-value={tierMembers.get(t.name) ?? ''}>{fmt.integer(tierMembers.get(t.name) ?? null)}</td>
                  </tr>
                ))}</tbody>
              </table>
            </>
          )}</Async>
        </Card>
        <Card title={fmt.t('loyalty.rewards')} testid="loyalty-rewards">
          <Async value={rewards}>{(r) => r.data.length === 0 ? <Empty /> : (
            <div class="table-wrap" tabIndex={0}>
              <table class="table compact">
                <thead><tr><th scope="col">{fmt.t('loyalty.reward')}</th><th scope="col">{fmt.t('loyalty.kind')}</th><th scope="col" class="num">{fmt.t('loyalty.points')}</th>
                  <th scope="col" class="num">{fmt.t('loyalty.redeemed')}</th><th scope="col" class="num">{fmt.t('loyalty.stock')}</th></tr></thead>
                <tbody>{r.data.map((w) => (
                  <tr key={w.id} data-testid="reward-row" data-name={w.name} class={w.active ? '' : 'inactive'}>
                    <th scope="row">{w.title || w.name}{w.tiers.length > 0 && <span class="badge">{w.tiers.join(', ')}</span>}</th>
                    <td>{w.kind}</td><td class="num" data-value={w.points}>{fmt.integer(w.points)}</td>
                    <td class="num" data-testid="reward-redeemed" data-value={w.redeemed}>{fmt.integer(w.redeemed)}</td>
                    <td class="num">{w.stock === null ? fmt.t('loyalty.unlimited') : fmt.integer(w.stock)}</td>
                  </tr>
                ))}</tbody>
              </table>
            </div>
          )}</Async>
        </Card>
      </div>
      {report.data && report.data.flows.length > 0 && <FlowsCard flows={report.data.flows} />}
    </>
  );
}

function FlowsCard({ flows }: { flows: Flow[] }) {
  const { fmt } = useApp();
  const option = useMemo<ChartOption>(() => ({
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => fmt.integer(Math.abs(v)) },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 70, right: 20, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: flows.map((f) => fmt.monthLabel(f.period)) },
    yAxis: { type: 'value', axisLabel: { formatter: (v: number) => fmt.integer(v) } },
    series: FLOW_KEYS.map((k) => ({
      name: fmt.t(FLOW_LABEL[k]!), type: 'bar', stack: k === 'issued' ? 'in' : 'out',
      data: flows.map((f) => (k === 'issued' ? f[k] : -f[k])), itemStyle: { color: FLOW_COLOR[k] },
    })),
  }), [flows, fmt]);
  return (
    <Card title={fmt.t('loyalty.flows')} testid="loyalty-flows">
      <Chart option={option} label={fmt.t('chart.label', { title: fmt.t('loyalty.flows') })} height={320} />
    </Card>
  );
}
