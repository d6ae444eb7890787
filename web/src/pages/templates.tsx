// Message templates: the list, and the editor with its live check (errors at their line and
// column in the part they are in), a live preview for a chosen customer, save, delete and a
// send form. A template is for one channel: email (subject, HTML, text), web push (title, text,
// link), in-app (title, text, banner or modal, link) or webhook (endpoint, title, text, link);
// the editor shows and sends only the parts of its channel.
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  api, ApiError, CHANNELS, withQuery, type Channel, type Customer, type InAppLayout, type MessageTemplate, type Page,
  type PreviewError, type Segment, type SendReport, type TemplateCheck, type TemplatePart, type TemplatePreview,
  type TemplateProblem, type WebhookEndpoint,
} from '../api';
import { InAppPreview, PushPreview, WebhookPreview, webhookBody } from '../channelpreview';
import { Async, Card, Empty, ErrorBox, ErrorList, Loading, PageHeader, Segmented } from '../components';
import { useApp } from '../context';
import { EmailPreview } from '../emailpreview';
import type { MessageKey } from '../i18n';
import { useApi, useDebounced } from '../hooks';
import { href, navigate, useRoute } from '../router';
import { MessagingTabs } from './messages';

export function TemplatesPage() {
  const { fmt, canWrite } = useApp();
  const list = useApi<{ data: MessageTemplate[] }>('/api/v1/templates');
  return (
    <>
      <PageHeader title={fmt.t('tpl.title')}>
        {canWrite && <a class="btn btn-primary" href="#/templates/new" data-testid="template-new">+ {fmt.t('tpl.new')}</a>}
      </PageHeader>
      <MessagingTabs current="templates" />
      {!canWrite && <p class="muted">{fmt.t('common.readOnly')}</p>}
      <Card>
        <Async value={list}>{(l) => l.data.length === 0 ? <Empty>{fmt.t('tpl.none')}</Empty> : (
          <div class="table-wrap" tabIndex={0}>
            <table class="table" data-testid="template-table">
              <thead><tr>
                <th scope="col">{fmt.t('common.name')}</th>
                <th scope="col">{fmt.t('tpl.channel')}</th>
                <th scope="col" class="hide-sm">{fmt.t('tpl.subjectOrTitle')}</th>
                <th scope="col" class="hide-sm">{fmt.t('tpl.topic')}</th>
                <th scope="col" class="hide-sm">{fmt.t('tpl.updated')}</th>
              </tr></thead>
              <tbody>{l.data.map((t) => (
                <tr key={t.id} data-testid="template-row" data-name={t.name} data-channel={t.channel}>
                  <th scope="row"><a href={href(`/templates/${encodeURIComponent(t.name)}`)}>{t.name}</a></th>
                  <td><ChannelBadge channel={t.channel} /></td>
                  <td class="break-words hide-sm">{t.subject || '—'}</td>
                  <td class="hide-sm">{t.topic || '—'}</td>
                  <td class="hide-sm nowrap">{fmt.dateTime(t.updated_at)}</td>
                </tr>
              ))}</tbody>
            </table>
          </div>
        )}</Async>
      </Card>
    </>
  );
}

export function TemplateEditorPage({ name }: { name: string | null }) {
  const { fmt } = useApp();
  const existing = useApi<MessageTemplate>(name ? `/api/v1/templates/${encodeURIComponent(name)}` : null);
  const title = name ? `${fmt.t('tpl.edit')}: ${name}` : fmt.t('tpl.new');
  if (name && existing.error) return <><Crumb /><PageHeader title={title} /><ErrorBox error={existing.error} onRetry={existing.reload} /></>;
  if (name && !existing.data) return <><Crumb /><PageHeader title={title} /><Loading /></>;
  return <Editor key={existing.data?.id ?? 'new'} template={existing.data} />;
}

// The notice of a save survives the move from #/templates/new to the saved template's page.
function useSavedNotice(): string | null {
  const { fmt } = useApp();
  return useRoute().query.get('saved') ? fmt.t('tpl.saved') : null;
}

function Crumb() {
  const { fmt } = useApp();
  return <p class="breadcrumb"><a href="#/templates">← {fmt.t('tpl.title')}</a></p>;
}

type Parts = { name: string; channel: Channel; topic: string; subject: string; html: string; text: string; link_url: string; layout: InAppLayout; endpoint: string };
type Body = Record<string, string> & { channel: Channel; topic: string };

// The parts of each channel's templates (besides the topic); the others are neither shown nor sent.
const CHANNEL_PARTS: Record<Channel, TemplatePart[]> = {
  email: ['subject', 'html', 'text'],
  push: ['subject', 'text', 'link_url'],
  inapp: ['subject', 'text', 'layout', 'link_url'],
  webhook: ['endpoint', 'subject', 'text', 'link_url'],
};
const TEXT_PARTS: TemplatePart[] = ['subject', 'html', 'text', 'link_url'];

function bodyOf(p: Parts): Body {
  const b: Body = { channel: p.channel, topic: p.topic };
  for (const k of CHANNEL_PARTS[p.channel]) b[k] = p[k];
  return b;
}

const asChannel = (c: string | undefined): Channel => (CHANNELS as readonly string[]).includes(c ?? '') ? c as Channel : 'email';

export function ChannelBadge({ channel }: { channel: string }) {
  const { fmt } = useApp();
  const key = `channel.${channel}`;
  return <span class={`badge channel-badge channel-${channel}`} data-testid="template-channel" data-channel={channel}>{fmt.has(key) ? fmt.t(key as MessageKey) : channel}</span>;
}

// Problems of a 400 from saving: errors [{pointer: "/html", detail: "2:7: message"}].
function saveProblems(e: unknown): TemplateProblem[] {
  if (!(e instanceof ApiError)) return [];
  const out: TemplateProblem[] = [];
  for (const x of e.errors) {
    const part = (x.pointer ?? '').replace(/^\//, '');
    if (!['subject', 'html', 'text', 'link_url', 'layout', 'endpoint', 'channel'].includes(part)) continue;
    const m = /^(\d+):(\d+):\s*(.*)$/s.exec(x.detail ?? '');
    out.push(m ? { part, line: Number(m[1]), column: Number(m[2]), message: m[3]! } : { part, line: 0, column: 0, message: x.detail ?? '' });
  }
  return out;
}

function Editor({ template }: { template: MessageTemplate | null }) {
  const { fmt, canWrite, isAdmin } = useApp();
  const [parts, setParts] = useState<Parts>({
    name: template?.name ?? '', channel: asChannel(template?.channel), topic: template?.topic ?? '', subject: template?.subject ?? '',
    html: template?.html ?? '', text: template?.text ?? '', link_url: template?.link_url ?? '',
    layout: template?.layout === 'modal' ? 'modal' : 'banner', endpoint: template?.endpoint ?? '',
  });
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [check, setCheck] = useState<TemplateCheck | null>(null);
  const [checkError, setCheckError] = useState<unknown>(null);
  const [preview, setPreview] = useState<{ p: TemplatePreview; body: Body } | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [previewing, setPreviewing] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [notice, setNotice] = useState<string | null>(useSavedNotice());
  const change = (k: keyof Parts, v: string) => { setNotice(null); setSaveError(null); setParts((p) => ({ ...p, [k]: v })); };
  const set = (k: keyof Parts) => (e: Event) => change(k, (e.currentTarget as HTMLInputElement).value);
  const channel = parts.channel;
  const has = (part: TemplatePart) => CHANNEL_PARTS[channel].includes(part);
  const endpoints = useApi<{ data: WebhookEndpoint[] }>(channel === 'webhook' ? '/api/v1/webhook-endpoints' : null);

  // The live check, then (when the parts are fine and a customer is chosen) the preview.
  const current = bodyOf(parts);
  const key = JSON.stringify(current);
  const body = useMemo(() => current, [key]);
  const debounced = useDebounced(body, 400);
  const filled = (b: Body) => TEXT_PARTS.some((k) => !!b[k]);
  useEffect(() => {
    // A new, still empty template has nothing to check yet.
    if (!filled(debounced)) { setCheck(null); setCheckError(null); return; }
    const ctl = new AbortController();
    api.post<TemplateCheck>('/api/v1/templates/check', debounced, ctl.signal).then((c) => {
      if (!ctl.signal.aborted) { setCheck(c); setCheckError(null); }
    }, (e: unknown) => { if (!ctl.signal.aborted) { setCheckError(e); setCheck(null); } });
    return () => ctl.abort();
  }, [debounced]);
  useEffect(() => {
    if (!check?.ok || !customer) { setPreview(null); setPreviewError(null); setPreviewing(false); return; }
    const ctl = new AbortController();
    const used = debounced;
    setPreviewing(true);
    api.post<TemplatePreview>('/api/v1/templates/preview', { ...used, customer_id: customer.id }, ctl.signal).then((p) => {
      if (!ctl.signal.aborted) { setPreview({ p, body: used }); setPreviewError(null); setPreviewing(false); }
    }, (e: unknown) => { if (!ctl.signal.aborted) { setPreviewError(e); setPreview(null); setPreviewing(false); } });
    return () => ctl.abort();
  }, [check, customer]);

  const problems: TemplateProblem[] = saveError ? saveProblems(saveError) : check?.errors ?? [];
  const of = (part: TemplatePart): PreviewError[] => problems.filter((p) => p.part === part);
  // Problems of no field on the form (the channel, say) are listed by themselves.
  const unplaced = problems.filter((p) => !has(p.part as TemplatePart));

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true); setSaveError(null); setNotice(null);
    try {
      const saved = await api.post<MessageTemplate>('/api/v1/templates', { ...bodyOf(parts), name: parts.name.trim() });
      setNotice(fmt.t('tpl.saved'));
      if (saved.name !== template?.name) navigate(`/templates/${encodeURIComponent(saved.name)}`, { saved: 1 }, true);
    } catch (err) { setSaveError(err); } finally { setSaving(false); }
  };
  const remove = async () => {
    if (!template || !window.confirm(fmt.t('common.confirmDelete', { name: template.name }))) return;
    setSaveError(null);
    try { await api.del(`/api/v1/templates/${encodeURIComponent(template.name)}`); navigate('/templates'); } catch (err) { setSaveError(err); }
  };
  const ro = !canWrite;
  const otherSaveError = saveError !== null && saveProblems(saveError).length === 0;
  const anyText = TEXT_PARTS.some((k) => has(k) && !!parts[k]);
  const channelLabel = (c: Channel) => fmt.t(`channel.${c}` as MessageKey);
  const subjectLabel = channel === 'email' ? fmt.t('tpl.subject') : channel === 'push' ? fmt.t('tpl.pushTitle') : fmt.t('tpl.titleOptional');
  const endpointList = endpoints.data?.data ?? [];
  const endpointOptions = parts.endpoint && !endpointList.some((x) => x.name === parts.endpoint)
    ? [{ name: parts.endpoint, missing: !endpoints.loading && endpoints.data !== null }, ...endpointList.map((x) => ({ name: x.name, missing: false }))]
    : endpointList.map((x) => ({ name: x.name, missing: false }));

  return (
    <>
      <Crumb />
      <PageHeader title={template ? `${fmt.t('tpl.edit')}: ${template.name}` : fmt.t('tpl.new')} />
      <div class="editor-layout tpl-layout">
        <form class="card editor" onSubmit={save} aria-label={fmt.t('tpl.editor')} data-testid="template-editor" data-channel={channel}>
          <div class="field-block">
            <span class="field-label" aria-hidden="true">{fmt.t('tpl.channel')}</span>
            {template || ro
              ? <div><ChannelBadge channel={channel} /> <span class="sr-only">{fmt.t('tpl.channel')}: {channelLabel(channel)}</span></div>
              : <Segmented name="channel" label={fmt.t('tpl.channel')} value={channel} onChange={(c) => change('channel', c)}
                options={CHANNELS.map((c) => ({ value: c, label: channelLabel(c) }))} testid="template-channel-select" />}
            <small class="muted">{fmt.t(`tpl.channelHint.${channel}` as MessageKey)}</small>
          </div>
          <div class="form-grid form-grid-2">
            <label class="field">
              <span>{fmt.t('tpl.name')}</span>
              <input type="text" required pattern="[A-Za-z0-9_.\-]{1,64}" value={parts.name} onInput={set('name')} disabled={ro}
                aria-describedby="tpl-name-hint" data-testid="template-name" />
              <small id="tpl-name-hint" class="muted">{fmt.t('segments.nameHint')}</small>
            </label>
            <label class="field">
              <span>{fmt.t('tpl.topic')}</span>
              <input type="text" value={parts.topic} onInput={set('topic')} disabled={ro} aria-describedby="tpl-topic-hint" data-testid="template-topic" />
              <small id="tpl-topic-hint" class="muted">{fmt.t('tpl.topicHint')}</small>
            </label>
          </div>
          {has('endpoint') && (
            <div class="field-block" data-part="endpoint">
              <label class="field">
                <span>{fmt.t('tpl.endpoint')}</span>
                <select value={parts.endpoint} onChange={set('endpoint')} disabled={ro} aria-busy={endpoints.loading}
                  aria-invalid={of('endpoint').length > 0} aria-describedby="tpl-endpoint-hint tpl-endpoint-errors" data-testid="template-endpoint">
                  <option value="">{endpoints.loading ? fmt.t('state.loading') : '—'}</option>
                  {endpointOptions.map((x) => <option key={x.name} value={x.name}>{x.name}{x.missing ? ` (${fmt.t('tpl.endpointMissing')})` : ''}</option>)}
                </select>
              </label>
              <small id="tpl-endpoint-hint" class="muted">
                {endpoints.data && endpointList.length === 0
                  ? <>{fmt.t('tpl.noEndpoints')} {isAdmin && <a href="#/settings">{fmt.t('tpl.addEndpoint')}</a>}</>
                  : fmt.t('tpl.endpointHint')}
              </small>
              {endpoints.error !== null && <ErrorBox error={endpoints.error} onRetry={endpoints.reload} />}
              <div id="tpl-endpoint-errors">{of('endpoint').length > 0 && <ErrorList errors={of('endpoint')} testid="template-errors-endpoint" />}</div>
            </div>
          )}
          <PartField part="subject" label={subjectLabel} value={parts.subject} onInput={set('subject')} errors={of('subject')} ro={ro} rows={1}
            hint={channel === 'inapp' ? fmt.t('tpl.inappTitleHint') : channel === 'webhook' ? fmt.t('tpl.webhookTitleHint') : undefined} />
          {has('html') && <PartField part="html" label={fmt.t('tpl.html')} value={parts.html} onInput={set('html')} errors={of('html')} ro={ro} rows={12} />}
          <PartField part="text" label={channel === 'email' ? fmt.t('tpl.text') : fmt.t('tpl.message')} value={parts.text} onInput={set('text')}
            errors={of('text')} ro={ro} rows={channel === 'email' ? 6 : 4} hint={fmt.t(`tpl.textHint.${channel}` as MessageKey)} />
          {has('layout') && (
            <div class="field-block" data-part="layout">
              <span class="field-label" aria-hidden="true">{fmt.t('tpl.layout')}</span>
              <Segmented name="layout" label={fmt.t('tpl.layout')} value={parts.layout} onChange={(v) => change('layout', v)} disabled={ro}
                options={[{ value: 'banner', label: fmt.t('tpl.layout.banner') }, { value: 'modal', label: fmt.t('tpl.layout.modal') }]} testid="template-layout" />
              <small class="muted">{fmt.t(parts.layout === 'modal' ? 'tpl.layoutHint.modal' : 'tpl.layoutHint.banner')}</small>
              <div>{of('layout').length > 0 && <ErrorList errors={of('layout')} testid="template-errors-layout" />}</div>
            </div>
          )}
          {has('link_url') && <PartField part="link_url" label={fmt.t('tpl.link')} value={parts.link_url} onInput={set('link_url')} errors={of('link_url')}
            ro={ro} rows={1} hint={fmt.t('tpl.linkHint')} />}
          {unplaced.length > 0 && <ErrorList errors={unplaced} testid="template-errors-other" />}
          <p class="muted small" aria-live="polite" data-testid="template-check" data-ok={check ? String(check.ok) : ''}>
            {checkError ? '' : !check ? (anyText ? fmt.t('segments.checking') : '') : check.ok ? `✓ ${fmt.t('tpl.checkOk')}` : fmt.t('tpl.checkErrors', { count: check.errors.length })}
          </p>
          {checkError !== null && <ErrorBox error={checkError} />}
          {notice && <p class="notice" role="status" data-testid="template-notice">{notice}</p>}
          {otherSaveError && <ErrorBox error={saveError} />}
          {canWrite && (
            <div class="form-actions">
              <button type="submit" class="btn btn-primary" disabled={saving || !parts.name.trim()} data-testid="template-save">
                {saving ? fmt.t('common.saving') : fmt.t('common.save')}
              </button>
              {template && <button type="button" class="btn btn-danger" onClick={() => void remove()} data-testid="template-delete">{fmt.t('common.delete')}</button>}
            </div>
          )}
        </form>
        <Card title={fmt.t('tpl.preview')} class="tpl-preview" testid="template-preview">
          <CustomerPicker value={customer} onChange={setCustomer} />
          <div aria-live="polite" aria-busy={previewing}>
            {previewError ? <ErrorBox error={previewError} />
              : check && !check.ok ? <p class="form-error">{fmt.t('tpl.fixFirst')}</p>
                : !preview ? (previewing || (!check && anyText) ? <Loading /> : <p class="muted">{customer ? '—' : fmt.t('tpl.chooseCustomer')}</p>)
                  : <PreviewParts p={preview.p} body={preview.body} customer={customer} endpoints={endpointList} />}
          </div>
        </Card>
      </div>
      {template && canWrite && <SendCard template={template.name} channel={asChannel(template.channel)} />}
    </>
  );
}

function PartField({ part, label, value, onInput, errors, ro, rows, hint }: {
  part: TemplatePart; label: string; value: string; onInput: (e: Event) => void; errors: PreviewError[]; ro: boolean; rows: number; hint?: string;
}) {
  const id = `tpl-${part}`;
  const describedBy = [hint ? `${id}-hint` : '', `${id}-errors`].filter(Boolean).join(' ');
  return (
    <div class="field-block" data-part={part}>
      <label class="field">
        <span>{label}</span>
        {rows === 1
          ? <input type="text" value={value} onInput={onInput} disabled={ro} spellcheck={false} class="code"
            inputMode={part === 'link_url' ? 'url' : undefined} aria-invalid={errors.length > 0} aria-describedby={describedBy} data-testid={`template-${part}`} />
          : <textarea rows={rows} value={value} onInput={onInput} disabled={ro} spellcheck={false} autoCapitalize="off" class="code"
            aria-invalid={errors.length > 0} aria-describedby={describedBy} data-testid={`template-${part}`} />}
      </label>
      {hint && <small id={`${id}-hint`} class="muted">{hint}</small>}
      <div id={`${id}-errors`}>{errors.length > 0 && <ErrorList errors={errors} source={value} testid={`template-errors-${part}`} />}</div>
    </div>
  );
}

// The rendered template as the customer meets it, by channel.
function PreviewParts({ p, body, customer, endpoints }: { p: TemplatePreview; body: Body; customer: Customer | null; endpoints: WebhookEndpoint[] }) {
  const { fmt } = useApp();
  const subject = p.subject ?? '', text = p.text ?? '', link = p.link_url ?? '';
  switch (body.channel) {
    case 'push':
      return <PushPreview title={subject} body={text} link={link} />;
    case 'inapp':
      return <InAppPreview layout={body.layout === 'modal' ? 'modal' : 'banner'} title={subject} body={text} link={link} />;
    case 'webhook': {
      const endpoint = body.endpoint ?? '';
      const format = endpoints.find((x) => x.name === endpoint)?.format ?? 'json';
      return <WebhookPreview endpoint={endpoint} format={format}
        body={webhookBody(format, { title: subject, text, link, topic: body.topic, customerId: customer?.id ?? '', email: customer?.email ?? '' })} />;
    }
    default:
      return (
        <div class="preview-parts">
          <div class="field-label">{fmt.t('tpl.subject')}</div>
          <p class="preview-subject" data-testid="template-preview-subject">{subject}</p>
          {p.html ? (
            <>
              <div class="field-label">{fmt.t('tpl.html')}</div>
              <EmailPreview html={p.html} label={fmt.t('tpl.htmlPreview')} testid="template-preview-html" />
            </>
          ) : null}
          {text ? (
            <details class="table-details" open={!p.html}>
              <summary>{fmt.t('tpl.text')}</summary>
              <pre class="code" data-testid="template-preview-text">{text}</pre>
            </details>
          ) : null}
        </div>
      );
  }
}

// Search customers (id, name or email) and choose one; the first customer until then.
export function CustomerPicker({ value, onChange }: { value: Customer | null; onChange: (c: Customer) => void }) {
  const { fmt } = useApp();
  const [q, setQ] = useState('');
  const query = useDebounced(q.trim(), 300);
  const found = useApi<Page<Customer>>(withQuery('/api/v1/customers', { q: query || undefined, limit: 8 }));
  const list = found.data?.data ?? [];
  useEffect(() => { if (!value && !query && list[0]) onChange(list[0]); }, [found.data]);
  const options = value && !list.some((c) => c.id === value.id) ? [value, ...list] : list;
  const label = (c: Customer) => `${c.name || c.id}${c.email ? ` <${c.email}>` : ''}`;
  return (
    <div class="customer-picker">
      <label class="field">
        <span>{fmt.t('tpl.findCustomer')}</span>
        <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} placeholder={fmt.t('customers.search')} data-testid="template-customer-search" />
      </label>
      <label class="field">
        <span>{fmt.t('tpl.customer')}</span>
        <select value={value?.id ?? ''} data-testid="template-customer" aria-busy={found.loading}
          onChange={(e) => { const c = options.find((x) => x.id === e.currentTarget.value); if (c) onChange(c); }}>
          {options.length === 0 && <option value="">{found.loading ? fmt.t('state.loading') : fmt.t('customers.none')}</option>}
          {options.map((c) => <option key={c.id} value={c.id}>{c.id} — {label(c)}</option>)}
        </select>
      </label>
      {found.error !== null && <ErrorBox error={found.error} onRetry={found.reload} />}
      {value && <p class="muted small">{fmt.t('tpl.previewFor')} <a href={href(`/customers/${encodeURIComponent(value.id)}`)} data-testid="template-customer-link">{label(value)}</a></p>}
    </div>
  );
}

type Audience = 'segment' | 'customers';

function SendCard({ template, channel }: { template: string; channel: Channel }) {
  const { fmt } = useApp();
  const segments = useApi<Page<Segment>>('/api/v1/segments?limit=500');
  const [audience, setAudience] = useState<Audience>('segment');
  const [segment, setSegment] = useState('');
  const [ids, setIds] = useState('');
  const [category, setCategory] = useState('marketing');
  const [campaign, setCampaign] = useState('');
  const [key, setKey] = useState(() => `web-${Date.now().toString(36)}`);
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<SendReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const customers = ids.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
  const submit = async (e: Event) => {
    e.preventDefault();
    const target = audience === 'segment' ? segment : customers.length ? 'x' : '';
    if (!target) return;
    if (!window.confirm(fmt.t('send.confirm', { template, audience: audience === 'segment' ? segment : fmt.integer(customers.length) }))) return;
    setBusy(true); setError(null); setReport(null);
    try {
      const body: Record<string, unknown> = { template, category, campaign: campaign.trim(), key };
      if (audience === 'segment') body.segment = segment; else body.customers = customers;
      setReport(await api.post<SendReport>('/api/v1/sends', body));
      setKey(`web-${Date.now().toString(36)}`);
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <Card title={fmt.t('send.title')} testid="send-card">
      <form class="form-grid" onSubmit={submit} aria-label={fmt.t('send.title')}>
        <div class="span-all">
          <Segmented name="audience" label={fmt.t('send.audience')} value={audience} onChange={setAudience}
            options={[{ value: 'segment', label: fmt.t('send.bySegment') }, { value: 'customers', label: fmt.t('send.byCustomers') }]} />
        </div>
        {audience === 'segment' ? (
          <label class="field"><span>{fmt.t('send.segment')}</span>
            <select value={segment} onChange={(e) => setSegment(e.currentTarget.value)} required data-testid="send-segment">
              <option value="">{segments.loading ? fmt.t('state.loading') : '—'}</option>
              {(segments.data?.data ?? []).map((s) => <option key={s.id} value={s.name}>{s.name}{s.size !== null ? ` (${fmt.integer(s.size)})` : ''}</option>)}
            </select></label>
        ) : (
          <label class="field"><span>{fmt.t('send.customers')}</span>
            <textarea rows={2} value={ids} onInput={(e) => setIds(e.currentTarget.value)} required class="code" aria-describedby="send-ids-hint" data-testid="send-customers" />
            <small id="send-ids-hint" class="muted">{fmt.t('send.customersHint')}</small></label>
        )}
        <label class="field"><span>{fmt.t('send.category')}</span>
          <select value={category} onChange={(e) => setCategory(e.currentTarget.value)} data-testid="send-category" aria-describedby="send-cat-hint">
            <option value="marketing">{fmt.t('send.marketing')}</option>
            <option value="transactional">{fmt.t('send.transactional')}</option>
          </select>
          <small id="send-cat-hint" class="muted">{fmt.t(`send.${category === 'marketing' ? 'marketing' : 'transactional'}Hint.${channel}` as MessageKey)}</small></label>
        <label class="field"><span>{fmt.t('send.campaign')}</span>
          <input type="text" value={campaign} onInput={(e) => setCampaign(e.currentTarget.value)} data-testid="send-campaign" /></label>
        {segments.error !== null && audience === 'segment' && <div class="span-all"><ErrorBox error={segments.error} onRetry={segments.reload} /></div>}
        <div class="form-actions span-all">
          <button type="submit" class="btn btn-primary" disabled={busy || (audience === 'segment' ? !segment : customers.length === 0)} data-testid="send-submit">
            {busy ? fmt.t('send.sending') : fmt.t('send.submit')}</button>
        </div>
      </form>
      {error !== null && <ErrorBox error={error} />}
      {report && (
        <div class="notice send-report" role="status" data-testid="send-report" data-queued={report.queued} data-key={report.key}
          data-no-subscription={report.skipped.no_subscription ?? 0}>
          <p><strong>{fmt.t(channel === 'push' ? 'send.queuedPush' : 'send.queued', { queued: fmt.integer(report.queued), audience: fmt.integer(report.audience) })}</strong></p>
          <ul class="plain small">
            <li>{fmt.t('send.duplicates')}: {fmt.integer(report.duplicates)}</li>
            {channel === 'email' && <>
              <li>{fmt.t('send.noEmail')}: {fmt.integer(report.skipped.no_email)}</li>
              <li>{fmt.t('send.noConsent')}: {fmt.integer(report.skipped.no_consent)}</li>
              <li>{fmt.t('send.suppressed')}: {fmt.integer(report.skipped.suppressed)}</li>
            </>}
            {channel === 'push' && <li data-testid="send-no-subscription">{fmt.t('send.noSubscription')}: {fmt.integer(report.skipped.no_subscription ?? 0)}</li>}
          </ul>
          <p><a href={href('/messages', { campaign: campaign.trim() || undefined })} data-testid="send-report-link">{fmt.t('send.viewMessages')}</a></p>
        </div>
      )}
    </Card>
  );
}
