// The message log (the outbox): filters by campaign, state and customer, the counts per state,
// paging, and one message with its bodies and delivery log.
import { useEffect, useState } from 'preact/hooks';
import { MESSAGE_STATES, withQuery, type Message, type MessageDetail, type MessageStats, type Page } from '../api';
import { Async, Card, Empty, ErrorBox, Loading, PageHeader, Stat } from '../components';
import { useApp } from '../context';
import { EmailPreview } from '../emailpreview';
import { useApi, useDebounced, useRefreshWhile } from '../hooks';
import type { MessageKey } from '../i18n';
import { href, navigate, useRoute } from '../router';

const PAGE = 25;

// The messaging area's two pages.
export function MessagingTabs({ current }: { current: 'templates' | 'messages' }) {
  const { fmt } = useApp();
  return (
    <nav class="subnav" aria-label={fmt.t('msg.area')}>
      <a href="#/templates" aria-current={current === 'templates' ? 'page' : undefined}>{fmt.t('tpl.title')}</a>
      <a href="#/messages" aria-current={current === 'messages' ? 'page' : undefined}>{fmt.t('msg.title')}</a>
    </nav>
  );
}

export function StateBadge({ state }: { state: string }) {
  const { fmt } = useApp();
  const key = `msg.state.${state}`;
  return <span class={`badge state-${state}`} data-testid="message-state" data-value={state}>{fmt.has(key) ? fmt.t(key as MessageKey) : state}</span>;
}

export function MessagesPage() {
  const { fmt } = useApp();
  const route = useRoute();
  const [campaign, setCampaign] = useState(route.query.get('campaign') ?? '');
  const [customer, setCustomer] = useState(route.query.get('customer') ?? '');
  const [state, setState] = useState(route.query.get('state') ?? '');
  const c = useDebounced(campaign.trim(), 300);
  const cu = useDebounced(customer.trim(), 300);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  useEffect(() => {
    setCursors([null]);
    navigate('/messages', { campaign: c, customer: cu, state }, true);
  }, [c, cu, state]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const list = useApi<Page<Message>>(withQuery('/api/v1/messages', { campaign: c, customer_id: cu, state, limit: PAGE, cursor }));
  const stats = useApi<MessageStats>(withQuery('/api/v1/messages/stats', { campaign: c }));
  // While messages are on their way, the list and the counts refresh themselves.
  const pending = (list.data?.data ?? []).some((m) => m.state === 'queued' || m.state === 'sending');
  useRefreshWhile(pending, () => { list.reload(); stats.reload(); }, list.data);
  return (
    <>
      <PageHeader title={fmt.t('msg.title')} />
      <MessagingTabs current="messages" />
      <form class="toolbar filters" role="search" aria-label={fmt.t('msg.filters')} onSubmit={(e) => e.preventDefault()}>
        <label class="field"><span>{fmt.t('send.campaign')}</span>
          <input type="search" value={campaign} onInput={(e) => setCampaign(e.currentTarget.value)} data-testid="message-filter-campaign" /></label>
        <label class="field"><span>{fmt.t('msg.state')}</span>
          <select value={state} onChange={(e) => setState(e.currentTarget.value)} data-testid="message-filter-state">
            <option value="">{fmt.t('msg.allStates')}</option>
            {MESSAGE_STATES.map((s) => <option key={s} value={s}>{fmt.t(`msg.state.${s}` as MessageKey)}</option>)}
          </select></label>
        <label class="field"><span>{fmt.t('msg.customerId')}</span>
          <input type="search" value={customer} onInput={(e) => setCustomer(e.currentTarget.value)} data-testid="message-filter-customer" /></label>
      </form>
      <Card title={c ? fmt.t('msg.statsOf', { campaign: c }) : fmt.t('msg.statsAll')} testid="message-stats">
        <Async value={stats}>{(s) => (
          <div class="stat-grid">
            {MESSAGE_STATES.map((k) => (
              <Stat key={k} label={fmt.t(`msg.state.${k}` as MessageKey)} value={fmt.integer(s[k])} raw={s[k]} testid={`message-stat-${k}`} />
            ))}
          </div>
        )}</Async>
      </Card>
      <Card>
        <Async value={list}>{(p) => p.data.length === 0 ? <Empty>{fmt.t('msg.none')}</Empty> : (
          <>
            <MessageTable messages={p.data} busy={list.loading} />
            <div class="pager">
              <button type="button" class="btn" disabled={cursors.length <= 1} onClick={() => setCursors((x) => x.slice(0, -1))}>{fmt.t('common.previous')}</button>
              <span class="muted">{fmt.t('customers.page', { page: cursors.length })}</span>
              <button type="button" class="btn" disabled={!p.next_cursor} onClick={() => setCursors((x) => [...x, p.next_cursor])}>{fmt.t('common.next')}</button>
            </div>
          </>
        )}</Async>
      </Card>
    </>
  );
}

export function MessageTable({ messages, busy, compact }: { messages: Message[]; busy?: boolean; compact?: boolean }) {
  const { fmt } = useApp();
  return (
    <div class="table-wrap" tabIndex={0}>
      <table class={`table ${compact ? 'compact' : ''}`} data-testid="message-table" aria-busy={busy}>
        <thead><tr>
          <th scope="col">{fmt.t('msg.created')}</th>
          <th scope="col">{fmt.t('tpl.subject')}</th>
          {!compact && <th scope="col" class="hide-sm">{fmt.t('msg.customer')}</th>}
          {!compact && <th scope="col" class="hide-sm">{fmt.t('send.campaign')}</th>}
          <th scope="col">{fmt.t('msg.state')}</th>
          <th scope="col" class="num hide-sm">{fmt.t('msg.attempts')}</th>
        </tr></thead>
        <tbody>{messages.map((m) => (
          <tr key={m.id} data-testid="message-row" data-id={m.id} data-customer={m.customer_id} data-campaign={m.campaign} data-state={m.state}>
            <td class="nowrap"><a href={href(`/messages/${m.id}`)}>{fmt.dateTime(m.created_at)}</a></td>
            <td class="break-words">{m.subject}</td>
            {!compact && <td class="hide-sm"><a href={href(`/customers/${encodeURIComponent(m.customer_id)}`)}>{m.customer_id}</a><br /><span class="muted small break">{m.recipient}</span></td>}
            {!compact && <td class="hide-sm">{m.campaign || '—'}</td>}
            <td><StateBadge state={m.state} /></td>
            <td class="num hide-sm">{fmt.integer(m.attempts)}</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}

export function MessageDetailPage({ id }: { id: string }) {
  const { fmt } = useApp();
  const msg = useApi<MessageDetail>(`/api/v1/messages/${encodeURIComponent(id)}`);
  const m = msg.data;
  useRefreshWhile(m?.state === 'queued' || m?.state === 'sending', msg.reload, m);
  return (
    <>
      <p class="breadcrumb"><a href="#/messages">← {fmt.t('msg.title')}</a></p>
      <PageHeader title={m ? m.subject || fmt.t('msg.message', { id }) : fmt.t('msg.message', { id })} />
      {msg.error ? <ErrorBox error={msg.error} onRetry={msg.reload} /> : !m ? <Loading /> : (
        <div class="grid-360">
          <Card title={fmt.t('msg.details')} testid="message-detail">
            <dl class="dl">
              <dt>{fmt.t('msg.state')}</dt><dd><StateBadge state={m.state} /></dd>
              <dt>{fmt.t('msg.recipient')}</dt><dd class="break" data-testid="message-recipient">{m.recipient}</dd>
              <dt>{fmt.t('msg.customer')}</dt><dd><a href={href(`/customers/${encodeURIComponent(m.customer_id)}`)}>{m.customer_id}</a></dd>
              <dt>{fmt.t('tpl.subject')}</dt><dd class="break-words" data-testid="message-subject">{m.subject}</dd>
              <dt>{fmt.t('send.category')}</dt><dd>{m.category}{m.topic ? ` · ${m.topic}` : ''}</dd>
              <dt>{fmt.t('send.campaign')}</dt><dd>{m.campaign ? <a href={href('/messages', { campaign: m.campaign })}>{m.campaign}</a> : '—'}</dd>
              <dt>{fmt.t('msg.attempts')}</dt><dd data-testid="message-attempts">{fmt.integer(m.attempts)}</dd>
              <dt>{fmt.t('msg.created')}</dt><dd>{fmt.dateTime(m.created_at)}</dd>
              <dt>{fmt.t('msg.sentAt')}</dt><dd>{fmt.dateTime(m.sent_at)}</dd>
              {m.next_attempt_at && <><dt>{fmt.t('msg.nextAttempt')}</dt><dd>{fmt.dateTime(m.next_attempt_at)}</dd></>}
              <dt>{fmt.t('msg.lastError')}</dt><dd class="break-words">{m.last_error || '—'}</dd>
              <dt>{fmt.t('msg.key')}</dt><dd class="break"><code>{m.idempotency_key}</code></dd>
              {m.provider_id && <><dt>{fmt.t('msg.providerId')}</dt><dd class="break"><code>{m.provider_id}</code></dd></>}
            </dl>
          </Card>
          <Card title={fmt.t('msg.log')} testid="message-log">
            {m.log.length === 0 ? <Empty>{fmt.t('msg.noLog')}</Empty> : (
              <ol class="timeline">
                {m.log.map((e, i) => (
                  <li key={i} data-testid="message-log-entry" data-kind={e.kind}>
                    <span class="tl-dot" aria-hidden="true" />
                    <div>
                      <div class="tl-head">
                        <span class="tl-kind">{fmt.has(`msg.log.${e.kind}`) ? fmt.t(`msg.log.${e.kind}` as MessageKey) : e.kind}</span>
                        <time dateTime={e.at} class="muted small">{fmt.dateTime(e.at)}</time>
                      </div>
                      {e.detail && <div class="small break-words">{e.detail}</div>}
                    </div>
                  </li>
                ))}
              </ol>
            )}
          </Card>
          <Card title={fmt.t('tpl.html')} class="span-2" testid="message-html">
            {m.html ? <EmailPreview html={m.html} label={fmt.t('tpl.htmlPreview')} testid="message-preview-html" /> : <Empty>{fmt.t('msg.noHtml')}</Empty>}
            {m.text && (
              <details class="table-details" open={!m.html}>
                <summary>{fmt.t('tpl.text')}</summary>
                <pre class="code">{m.text}</pre>
              </details>
            )}
          </Card>
        </div>
      )}
    </>
  );
}
