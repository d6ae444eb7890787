import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, withQuery, type Customer, type CustomerConsent, type Message, type Page, type PushSubscription } from '../api';
import { linkHost } from '../channelpreview';
import { Async, Card, Empty, ErrorBox, Loading, PageHeader, Stat } from '../components';
import { useApp } from '../context';
import { useApi, useDebounced, useRefreshWhile } from '../hooks';
import type { MessageKey } from '../i18n';
import { href, navigate, useRoute } from '../router';
import { MessageTable } from './messages';

const PAGE = 25;

export function CustomersPage() {
  const { fmt } = useApp();
  const route = useRoute();
  const [q, setQ] = useState(route.query.get('q') ?? '');
  const query = useDebounced(q.trim(), 300);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  useEffect(() => {
    setCursors([null]);
    if ((route.query.get('q') ?? '') !== query) navigate('/customers', { q: query }, true);
  }, [query]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const list = useApi<Page<Customer>>(withQuery('/api/v1/customers', { q: query || undefined, limit: PAGE, cursor: cursor ?? undefined }));

  return (
    <>
      <PageHeader title={fmt.t('customers.title')} />
      <div class="toolbar">
        <label class="field search-field">
          <span class="sr-only">{fmt.t('customers.search')}</span>
          <input type="search" placeholder={fmt.t('customers.search')} value={q} onInput={(e) => setQ(e.currentTarget.value)} data-testid="customer-search" />
        </label>
      </div>
      <Card>
        <Async value={list}>{(page) => page.data.length === 0 ? <Empty>{fmt.t('customers.none')}</Empty> : (
          <>
            <div class="table-wrap" tabIndex={0}>
              <table class="table" data-testid="customer-table" aria-busy={list.loading}>
                <thead><tr>
                  <th scope="col">{fmt.t('common.id')}</th><th scope="col">{fmt.t('common.name')}</th><th scope="col">{fmt.t('common.email')}</th>
                  <th scope="col" class="hide-sm">{fmt.t('customers.country')}</th><th scope="col" class="hide-sm">{fmt.t('customers.created')}</th>
                </tr></thead>
                <tbody>
                  {page.data.map((c) => (
                    <tr key={c.id} data-testid="customer-row" data-id={c.id} class="clickable" onClick={(e) => { if (!(e.target as HTMLElement).closest('a')) navigate(`/customers/${encodeURIComponent(c.id)}`); }}>
                      <td><a href={href(`/customers/${encodeURIComponent(c.id)}`)}>{c.id}</a></td>
                      <td>{c.name ?? '—'}</td><td class="break">{c.email ?? '—'}</td>
                      <td class="hide-sm">{c.country ?? '—'}</td><td class="hide-sm">{fmt.date(c.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div class="pager">
              <button type="button" class="btn" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>{fmt.t('common.previous')}</button>
              <span class="muted" data-testid="customer-page">{fmt.t('customers.page', { page: cursors.length })}</span>
              <button type="button" class="btn" disabled={!page.next_cursor} onClick={() => setCursors((c) => [...c, page.next_cursor])}>{fmt.t('common.next')}</button>
            </div>
          </>
        )}</Async>
      </Card>
    </>
  );
}

interface Summary {
  id: string; email: string | null; name: string | null; country: string | null; locale: string | null; time_zone: string | null;
  created_at: string; attributes?: Record<string, unknown>; consents?: Record<string, { granted: boolean; at?: string } | boolean>;
  orders_count: number; revenue_total: number; average_order_value: number | null; first_order_at: string | null; last_order_at: string | null;
  mrr: number | null; currency: string; segments: string[];
  loyalty: { available: number; pending: number; held: number; tier: string | null } | null;
  predictions: { p_alive: number | null; expected_purchases_90d: number | null; clv_12m: number | null; summary?: string } | null;
}
interface Prediction { p_alive: number | null; expected_purchases_90d: number | null; clv_12m: number | null; model?: string; currency?: string; rfm?: { segment_title?: string } }
interface Wallet { available: number; pending: number; held: number; tier: string | null }
interface TimelineItem { at: string; kind: string; title: string; detail?: Record<string, unknown> }

export function CustomerPage({ id }: { id: string }) {
  const { fmt } = useApp();
  const enc = encodeURIComponent(id);
  const profile = useApi<Customer>(`/api/v1/customers/${enc}`);
  const summary = useApi<Summary>(`/api/v1/customers/${enc}/summary`);
  const s = summary.data;
  const settled = s !== null || summary.error !== null;
  // The summary holds the wallet and the predictions; ask for them only when it has them (or failed).
  const predictions = useApi<Prediction>(settled && (summary.error || s?.predictions) ? `/api/v1/customers/${enc}/predictions` : null);
  const walletApi = useApi<Wallet>(settled && summary.error ? `/api/v1/loyalty/customers/${enc}/wallet` : null);
  const wallet = s ? { data: s.loyalty, error: s.loyalty ? null : 'none', loading: false } : walletApi;
  const p = profile.data;
  return (
    <>
      <p class="breadcrumb"><a href="#/customers">← {fmt.t('c360.back')}</a></p>
      <PageHeader title={s?.name || p?.name || s?.email || p?.email || id} />
      {profile.error && !s ? <ErrorBox error={profile.error} onRetry={profile.reload} /> : (
        <div class="grid-360">
          <Card title={fmt.t('c360.profile')} testid="c360-profile">
            {!p && !s ? <Loading /> : (
              <dl class="dl">
                <dt>{fmt.t('common.id')}</dt><dd data-testid="c360-id">{id}</dd>
                <dt>{fmt.t('common.email')}</dt><dd class="break">{s?.email ?? p?.email ?? '—'}</dd>
                <dt>{fmt.t('customers.country')}</dt><dd>{s?.country ?? p?.country ?? '—'}</dd>
                <dt>{fmt.t('c360.locale')}</dt><dd>{s?.locale ?? p?.locale ?? '—'}</dd>
                <dt>{fmt.t('c360.timeZone')}</dt><dd>{s?.time_zone ?? p?.time_zone ?? '—'}</dd>
                <dt>{fmt.t('customers.created')}</dt><dd>{fmt.date(s?.created_at ?? p?.created_at)}</dd>
              </dl>
            )}
            <h3>{fmt.t('c360.consents')}</h3>
            <Consents consents={s?.consents ?? p?.consent ?? {}} />
            {Object.keys(s?.attributes ?? p?.attributes ?? {}).length > 0 && (
              <>
                <h3>{fmt.t('c360.attributes')}</h3>
                <dl class="dl">
                  {Object.entries(s?.attributes ?? p?.attributes ?? {}).map(([k, v]) => [<dt key={`k${k}`}>{k}</dt>, <dd key={`v${k}`}>{formatAttr(v, fmt.date)}</dd>])}
                </dl>
              </>
            )}
          </Card>
          <Card title={fmt.t('c360.figures')} testid="c360-summary">
            {summary.error ? <ErrorBox error={summary.error} onRetry={summary.reload} /> : !s ? <Loading /> : (
              <>
                <div class="stat-grid">
                  <Stat label={fmt.t('c360.orders')} value={fmt.integer(s.orders_count)} raw={s.orders_count} testid="c360-orders" />
                  <Stat label={fmt.t('c360.revenue')} value={fmt.money(s.revenue_total, s.currency)} raw={s.revenue_total} testid="c360-revenue" />
                  <Stat label={fmt.t('c360.aov')} value={fmt.money(s.average_order_value, s.currency)} raw={s.average_order_value} testid="c360-aov" />
                  <Stat label={fmt.t('c360.mrr')} value={fmt.money(s.mrr, s.currency)} raw={s.mrr} testid="c360-mrr" />
                  <Stat label={fmt.t('c360.firstOrder')} value={fmt.date(s.first_order_at)} raw={s.first_order_at} testid="c360-first" />
                  <Stat label={fmt.t('c360.lastOrder')} value={fmt.date(s.last_order_at)} raw={s.last_order_at} testid="c360-last" />
                </div>
                {s.segments.length > 0 && (
                  <>
                    <h3>{fmt.t('c360.segments')}</h3>
                    <ul class="chips" data-testid="c360-segments">{s.segments.map((n) => <li key={n} class="chip">{n}</li>)}</ul>
                  </>
                )}
              </>
            )}
          </Card>
          <Card title={fmt.t('c360.predictions')} testid="c360-predictions">
            <Predictions pred={s ? (s.predictions ? { ...s.predictions, ...(predictions.data ?? {}) } : null) : predictions.data}
              loading={!settled || (!s && !predictions.data && !predictions.error)} error={s ? null : predictions.error}
              model={predictions.data?.model} rfm={predictions.data?.rfm?.segment_title} currency={s?.currency ?? predictions.data?.currency} />
          </Card>
          <Card title={fmt.t('c360.wallet')} testid="c360-wallet">
            {wallet.error ? <Empty>{fmt.t('c360.noWallet')}</Empty> : !wallet.data ? <Loading /> : (
              <div class="stat-grid">
                <Stat label={fmt.t('c360.available')} value={fmt.integer(wallet.data.available)} raw={wallet.data.available} testid="wallet-available" />
                <Stat label={fmt.t('c360.pending')} value={fmt.integer(wallet.data.pending)} raw={wallet.data.pending} testid="wallet-pending" />
                <Stat label={fmt.t('c360.held')} value={fmt.integer(wallet.data.held)} raw={wallet.data.held} testid="wallet-held" />
                <Stat label={fmt.t('c360.tier')} value={wallet.data.tier ?? '—'} raw={wallet.data.tier} testid="wallet-tier" />
              </div>
            )}
          </Card>
          <div class="grid-stack">
            <Card title={fmt.t('c360.messages')} testid="c360-messages"
              actions={<a href={href('/messages', { customer: id })} class="small" data-testid="c360-messages-all">{fmt.t('c360.allMessages')}</a>}>
              <CustomerMessages id={id} />
            </Card>
            <Card title={fmt.t('c360.push')} testid="c360-push">
              <PushSubscriptions id={id} />
            </Card>
          </div>
          <Card title={fmt.t('c360.consent')} testid="c360-consent">
            <ConsentCard id={id} />
          </Card>
          <Card title={fmt.t('c360.timeline')} class="span-2" testid="c360-timeline">
            <Timeline id={id} />
          </Card>
        </div>
      )}
    </>
  );
}

function formatAttr(v: unknown, date: (s: string) => string): string {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) return date(v);
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function Consents({ consents }: { consents: Record<string, { granted: boolean; at?: string } | boolean> }) {
  const { fmt } = useApp();
  const entries = Object.entries(consents);
  if (entries.length === 0) return <p class="muted">—</p>;
  return (
    <ul class="consents" data-testid="c360-consents">
      {entries.map(([ch, c]) => {
        const granted = typeof c === 'boolean' ? c : c.granted;
        const at = typeof c === 'boolean' ? undefined : c.at;
        return (
          <li key={ch} class={granted ? 'ok' : 'no'}>
            <span aria-hidden="true">{granted ? '✓' : '✗'}</span> <strong>{ch}</strong> {granted ? fmt.t('c360.granted') : fmt.t('c360.denied')}
            {at && <span class="muted small"> · {fmt.date(at)}</span>}
          </li>
        );
      })}
    </ul>
  );
}

function Predictions({ pred, loading, error, model, rfm, currency }: { pred: Prediction | Summary['predictions'] | null | undefined; loading: boolean; error: unknown; model?: string; rfm?: string; currency?: string }) {
  const { fmt, workspace } = useApp();
  if (loading) return <Loading />;
  if (!pred || pred.p_alive === null) {
    return error && !(error instanceof ApiError && error.status === 409) ? <ErrorBox error={error} /> : <Empty>{fmt.t('c360.noPredictions')}</Empty>;
  }
  const p = pred.p_alive;
  return (
    <div class="predictions">
      <p class="big-sentence" data-testid="c360-palive" data-value={p}>{fmt.t('c360.pAlive', { value: fmt.percent(p, 0) })}</p>
      <meter min={0} max={1} low={0.3} high={0.7} optimum={1} value={p} aria-label={fmt.t('c360.pAlive', { value: fmt.percent(p, 0) })} />
      <div class="stat-grid">
        <Stat label={fmt.t('c360.expected90')} value={fmt.number(pred.expected_purchases_90d, 2)} raw={pred.expected_purchases_90d} testid="c360-expected" />
        <Stat label={fmt.t('c360.clv12')} value={fmt.money(pred.clv_12m, currency)} raw={pred.clv_12m} testid="c360-clv" />
      </div>
      {rfm && <p><span class="chip">RFM: {rfm}</span></p>}
      <p class="muted small">{fmt.t('c360.explain', { model: model ?? workspace?.purchase_model ?? '' })}</p>
    </div>
  );
}

function Timeline({ id }: { id: string }) {
  const { fmt } = useApp();
  const first = useApi<Page<TimelineItem>>(withQuery(`/api/v1/customers/${encodeURIComponent(id)}/timeline`, { limit: 50 }));
  const [more, setMore] = useState<TimelineItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  useEffect(() => { setMore([]); setCursor(first.data?.next_cursor ?? null); }, [first.data]);
  if (first.error) return <ErrorBox error={first.error} onRetry={first.reload} />;
  if (!first.data) return <Loading />;
  const items = [...first.data.data, ...more];
  if (items.length === 0) return <Empty>{fmt.t('c360.noTimeline')}</Empty>;
  const load = async () => {
    const p = await api.get<Page<TimelineItem>>(withQuery(`/api/v1/customers/${encodeURIComponent(id)}/timeline`, { limit: 50, cursor: cursor ?? undefined }));
    setMore((m) => [...m, ...p.data]); setCursor(p.next_cursor);
  };
  return (
    <>
      <ol class="timeline">
        {items.map((it, i) => (
          <li key={i} class={`tl-${it.kind}`} data-testid="timeline-item" data-kind={it.kind}>
            <span class="tl-dot" aria-hidden="true" />
            <div>
              <div class="tl-head">
                <span class="tl-kind">{fmt.has(`tl.${it.kind}`) ? fmt.t(`tl.${it.kind}` as MessageKey) : it.kind}</span>
                <time dateTime={it.at} class="muted small">{fmt.dateTime(it.at)}</time>
              </div>
              <div class="tl-title">{it.title}</div>
              {it.detail && Object.keys(it.detail).length > 0 && (
                <div class="tl-detail muted small">
                  {Object.entries(it.detail).filter(([, v]) => v !== null && typeof v !== 'object').slice(0, 6)
                    .map(([k, v]) => `${k}: ${String(v)}`).join(' · ')}
                </div>
              )}
            </div>
          </li>
        ))}
      </ol>
      {cursor && <button type="button" class="btn" onClick={() => void load()}>{fmt.t('common.more')}</button>}
    </>
  );
}

function CustomerMessages({ id }: { id: string }) {
  const { fmt } = useApp();
  const list = useApi<Page<Message>>(withQuery('/api/v1/messages', { customer_id: id, limit: 10 }));
  useRefreshWhile((list.data?.data ?? []).some((m) => m.state === 'queued' || m.state === 'sending'), list.reload, list.data);
  return (
    <Async value={list}>{(p) => p.data.length === 0 ? <Empty>{fmt.t('c360.noMessages')}</Empty>
      : <MessageTable messages={p.data} compact />}</Async>
  );
}

// Consent per channel, the preferences, a suppressed address and the proof records; a double
// opt-in request when email consent is missing.
function ConsentCard({ id }: { id: string }) {
  const { fmt, canWrite } = useApp();
  const consent = useApi<CustomerConsent>(`/api/v1/customers/${encodeURIComponent(id)}/consent`);
  const [busy, setBusy] = useState(false);
  const [requested, setRequested] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const request = async () => {
    setBusy(true); setError(null);
    try {
      await api.post(`/api/v1/customers/${encodeURIComponent(id)}/consent/email/request`, {});
      setRequested(true); consent.reload();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <Async value={consent}>{(c) => {
      const channels = Object.entries(c.consent);
      const email = c.consent.email;
      const canAsk = canWrite && !!c.email && !email?.granted && !c.email_suppressed;
      const prefs = c.preferences;
      return (
        <div data-testid="c360-consent-body">
          <ul class="consents" data-testid="consent-channels">
            {channels.map(([ch, st]) => (
              <li key={ch} class={st ? (st.granted ? 'ok' : 'no') : 'none'} data-testid="consent-channel" data-channel={ch} data-granted={st ? String(st.granted) : ''}>
                <span aria-hidden="true">{st ? (st.granted ? '✓' : '✗') : '○'}</span> <strong>{ch}</strong>{' '}
                {st ? (st.granted ? fmt.t('c360.granted') : fmt.t('c360.denied')) : fmt.t('consent.unknown')}
                {st && <span class="muted small"> · {st.source || '—'} · {fmt.dateTime(st.at)}</span>}
              </li>
            ))}
          </ul>
          {c.email_suppressed && (
            <p class="notice" data-testid="consent-suppressed">
              {fmt.t('consent.suppressed', { address: c.email_suppressed.address, reason: c.email_suppressed.reason })}
              <span class="muted small"> · {fmt.dateTime(c.email_suppressed.at)}</span>
            </p>
          )}
          <h3>{fmt.t('consent.preferences')}</h3>
          <dl class="dl" data-testid="consent-preferences">
            <dt>{fmt.t('consent.topicsOff')}</dt><dd>{prefs.topics_off.length ? prefs.topics_off.join(', ') : fmt.t('consent.noneOff')}</dd>
            <dt>{fmt.t('consent.paused')}</dt><dd>{prefs.paused_until ? fmt.t('consent.pausedUntil', { date: fmt.dateTime(prefs.paused_until) }) : fmt.t('common.no')}</dd>
            <dt>{fmt.t('consent.tracking')}</dt><dd>{prefs.tracking ? fmt.t('common.yes') : fmt.t('common.no')}</dd>
          </dl>
          {canAsk && (
            <div class="form-actions">
              <button type="button" class="btn" disabled={busy || requested} onClick={() => void request()} data-testid="consent-request">
                {fmt.t('consent.request')}</button>
            </div>
          )}
          {requested && <p class="notice" role="status" data-testid="consent-requested">{fmt.t('consent.requested', { email: c.email })}</p>}
          {error !== null && <ErrorBox error={error} />}
          <h3>{fmt.t('consent.records')}</h3>
          {c.records.length === 0 ? <Empty>{fmt.t('consent.noRecords')}</Empty> : (
            <div class="table-wrap" tabIndex={0}>
              <table class="table compact" data-testid="consent-records">
                <thead><tr>
                  <th scope="col">{fmt.t('consent.at')}</th><th scope="col">{fmt.t('consent.action')}</th>
                  <th scope="col">{fmt.t('consent.channel')}</th><th scope="col">{fmt.t('consent.source')}</th>
                  <th scope="col" class="hide-sm">IP</th><th scope="col" class="hide-sm">{fmt.t('consent.userAgent')}</th>
                  <th scope="col" class="hide-sm">{fmt.t('consent.textVersion')}</th>
                </tr></thead>
                <tbody>{[...c.records].reverse().map((r) => (
                  <tr key={r.id} data-testid="consent-record" data-action={r.action}>
                    <td class="nowrap">{fmt.dateTime(r.at)}</td>
                    <td>{fmt.has(`consent.action.${r.action}`) ? fmt.t(`consent.action.${r.action}` as MessageKey) : r.action}</td>
                    <td>{r.channel}</td><td>{r.source || '—'}</td>
                    <td class="hide-sm">{r.ip || '—'}</td><td class="hide-sm break-words small">{r.user_agent || '—'}</td>
                    <td class="hide-sm">{r.text_version || '—'}</td>
                  </tr>
                ))}</tbody>
              </table>
            </div>
          )}
        </div>
      );
    }}</Async>
  );
}

// A short name of the browser of a user agent ("Firefox 128 on Windows"); the whole string is
// in the cell's tooltip and for screen readers in the row.
function browserOf(ua: string): string {
  const m = (re: RegExp) => re.exec(ua);
  const browser = m(/Edg\/(\d+)/) ? `Edge ${m(/Edg\/(\d+)/)![1]}` : m(/OPR\/(\d+)/) ? `Opera ${m(/OPR\/(\d+)/)![1]}`
    : m(/Firefox\/(\d+)/) ? `Firefox ${m(/Firefox\/(\d+)/)![1]}` : m(/Chrome\/(\d+)/) ? `Chrome ${m(/Chrome\/(\d+)/)![1]}`
      : m(/Version\/(\d+)[.\d]* .*Safari\//) ? `Safari ${m(/Version\/(\d+)/)![1]}` : '';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iOS/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : '';
  return browser && os ? `${browser} · ${os}` : browser || os || ua;
}

// The customer's browsers subscribed to web push (made by the JavaScript snippet); removing one
// stops push messages to that browser.
function PushSubscriptions({ id }: { id: string }) {
  const { fmt, canWrite } = useApp();
  const list = useApi<{ data: PushSubscription[] }>(`/api/v1/customers/${encodeURIComponent(id)}/push-subscriptions`);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const remove = async (s: PushSubscription) => {
    if (!window.confirm(fmt.t('push.removeConfirm', { browser: browserOf(s.user_agent) || fmt.t('push.unknownBrowser') }))) return;
    setBusy(s.id); setError(null);
    try { await api.del(`/api/v1/push-subscriptions/${s.id}`); list.reload(); } catch (err) { setError(err); } finally { setBusy(null); }
  };
  return (
    <>
      <Async value={list}>{(l) => l.data.length === 0 ? <Empty>{fmt.t('push.none')}</Empty> : (
        <div class="table-wrap" tabIndex={0}>
          <table class="table compact" data-testid="push-subscriptions">
            <thead><tr>
              <th scope="col">{fmt.t('push.browser')}</th><th scope="col">{fmt.t('push.since')}</th>
              {canWrite && <th scope="col"><span class="sr-only">{fmt.t('push.remove')}</span></th>}
            </tr></thead>
            <tbody>{l.data.map((s) => (
              <tr key={s.id} data-testid="push-subscription" data-id={s.id}>
                <td class="break-words" title={s.user_agent}>
                  {browserOf(s.user_agent) || fmt.t('push.unknownBrowser')}
                  {s.user_agent && <span class="sr-only"> ({s.user_agent})</span>}
                  <div class="muted small break-words">{linkHost(s.endpoint)}</div>
                </td>
                <td class="nowrap">{fmt.date(s.created_at)}</td>
                {canWrite && (
                  <td><button type="button" class="btn btn-small btn-danger" disabled={busy === s.id} onClick={() => void remove(s)}
                    aria-label={`${fmt.t('push.remove')}: ${browserOf(s.user_agent) || s.id}`} data-testid="push-subscription-remove">{fmt.t('push.remove')}</button></td>
                )}
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</Async>
      {error !== null && <ErrorBox error={error} />}
    </>
  );
}
