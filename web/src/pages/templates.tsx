// Message templates: the list, and the editor with its live check (errors at their line and
// column in the part they are in), a live preview for a chosen customer, save, delete and a
// send form.
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  api, ApiError, withQuery, type Customer, type MessageTemplate, type Page, type PreviewError, type Segment,
  type SendReport, type TemplateCheck, type TemplatePart, type TemplatePreview, type TemplateProblem,
} from '../api';
import { Async, Card, Empty, ErrorBox, ErrorList, Loading, PageHeader, Segmented } from '../components';
import { useApp } from '../context';
import { EmailPreview } from '../emailpreview';
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
                <th scope="col">{fmt.t('tpl.subject')}</th>
                <th scope="col" class="hide-sm">{fmt.t('tpl.topic')}</th>
                <th scope="col" class="hide-sm">{fmt.t('tpl.updated')}</th>
              </tr></thead>
              <tbody>{l.data.map((t) => (
                <tr key={t.id} data-testid="template-row" data-name={t.name}>
                  <th scope="row"><a href={href(`/templates/${encodeURIComponent(t.name)}`)}>{t.name}</a></th>
                  <td class="break-words">{t.subject}</td>
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

interface Parts { name: string; topic: string; subject: string; html: string; text: string }

// Problems of a 400 from saving: errors [{pointer: "/html", detail: "2:7: message"}].
function saveProblems(e: unknown): TemplateProblem[] {
  if (!(e instanceof ApiError)) return [];
  const out: TemplateProblem[] = [];
  for (const x of e.errors) {
    const part = (x.pointer ?? '').replace(/^\//, '');
    if (!['subject', 'html', 'text'].includes(part)) continue;
    const m = /^(\d+):(\d+):\s*(.*)$/s.exec(x.detail ?? '');
    out.push(m ? { part, line: Number(m[1]), column: Number(m[2]), message: m[3]! } : { part, line: 0, column: 0, message: x.detail ?? '' });
  }
  return out;
}

function Editor({ template }: { template: MessageTemplate | null }) {
  const { fmt, canWrite } = useApp();
  const [parts, setParts] = useState<Parts>({
    name: template?.name ?? '', topic: template?.topic ?? '', subject: template?.subject ?? '',
    html: template?.html ?? '', text: template?.text ?? '',
  });
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [check, setCheck] = useState<TemplateCheck | null>(null);
  const [checkError, setCheckError] = useState<unknown>(null);
  const [preview, setPreview] = useState<TemplatePreview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [previewing, setPreviewing] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [notice, setNotice] = useState<string | null>(useSavedNotice());
  const set = (k: keyof Parts) => (e: Event) => { setNotice(null); setSaveError(null); setParts((p) => ({ ...p, [k]: (e.currentTarget as HTMLInputElement).value })); };

  // The live check, then (when the parts are fine and a customer is chosen) the preview.
  const body = useMemo(() => ({ topic: parts.topic, subject: parts.subject, html: parts.html, text: parts.text }),
    [parts.topic, parts.subject, parts.html, parts.text]);
  const debounced = useDebounced(body, 400);
  useEffect(() => {
    // A new, still empty template has nothing to check yet.
    if (!debounced.subject && !debounced.html && !debounced.text) { setCheck(null); setCheckError(null); return; }
    const ctl = new AbortController();
    api.post<TemplateCheck>('/api/v1/templates/check', debounced, ctl.signal).then((c) => {
      if (!ctl.signal.aborted) { setCheck(c); setCheckError(null); }
    }, (e: unknown) => { if (!ctl.signal.aborted) { setCheckError(e); setCheck(null); } });
    return () => ctl.abort();
  }, [debounced]);
  useEffect(() => {
    if (!check?.ok || !customer) { setPreview(null); setPreviewError(null); setPreviewing(false); return; }
    const ctl = new AbortController();
    setPreviewing(true);
    api.post<TemplatePreview>('/api/v1/templates/preview', { ...debounced, customer_id: customer.id }, ctl.signal).then((p) => {
      if (!ctl.signal.aborted) { setPreview(p); setPreviewError(null); setPreviewing(false); }
    }, (e: unknown) => { if (!ctl.signal.aborted) { setPreviewError(e); setPreview(null); setPreviewing(false); } });
    return () => ctl.abort();
  }, [check, customer]);

  const problems: TemplateProblem[] = saveError ? saveProblems(saveError) : check?.errors ?? [];
  const of = (part: TemplatePart): PreviewError[] => problems.filter((p) => p.part === part);

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true); setSaveError(null); setNotice(null);
    try {
      const saved = await api.post<MessageTemplate>('/api/v1/templates', { ...parts, name: parts.name.trim() });
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

  return (
    <>
      <Crumb />
      <PageHeader title={template ? `${fmt.t('tpl.edit')}: ${template.name}` : fmt.t('tpl.new')} />
      <div class="editor-layout tpl-layout">
        <form class="card editor" onSubmit={save} aria-label={fmt.t('tpl.editor')} data-testid="template-editor">
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
          <PartField part="subject" label={fmt.t('tpl.subject')} value={parts.subject} onInput={set('subject')} errors={of('subject')} ro={ro} rows={1} />
          <PartField part="html" label={fmt.t('tpl.html')} value={parts.html} onInput={set('html')} errors={of('html')} ro={ro} rows={12} />
          <PartField part="text" label={fmt.t('tpl.text')} value={parts.text} onInput={set('text')} errors={of('text')} ro={ro} rows={6} hint={fmt.t('tpl.textHint')} />
          <p class="muted small" aria-live="polite" data-testid="template-check" data-ok={check ? String(check.ok) : ''}>
            {checkError ? '' : !check ? (parts.subject || parts.html || parts.text ? fmt.t('segments.checking') : '') : check.ok ? `✓ ${fmt.t('tpl.checkOk')}` : fmt.t('tpl.checkErrors', { count: check.errors.length })}
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
                : !preview ? (previewing || (!check && (parts.subject || parts.html || parts.text)) ? <Loading /> : <p class="muted">{customer ? '—' : fmt.t('tpl.chooseCustomer')}</p>)
                  : <PreviewParts p={preview} />}
          </div>
        </Card>
      </div>
      {template && canWrite && <SendCard template={template.name} />}
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
            aria-invalid={errors.length > 0} aria-describedby={describedBy} data-testid={`template-${part}`} />
          : <textarea rows={rows} value={value} onInput={onInput} disabled={ro} spellcheck={false} autoCapitalize="off" class="code"
            aria-invalid={errors.length > 0} aria-describedby={describedBy} data-testid={`template-${part}`} />}
      </label>
      {hint && <small id={`${id}-hint`} class="muted">{hint}</small>}
      <div id={`${id}-errors`}>{errors.length > 0 && <ErrorList errors={errors} source={value} testid={`template-errors-${part}`} />}</div>
    </div>
  );
}

function PreviewParts({ p }: { p: TemplatePreview }) {
  const { fmt } = useApp();
  return (
    <div class="preview-parts">
      <div class="field-label">{fmt.t('tpl.subject')}</div>
      <p class="preview-subject" data-testid="template-preview-subject">{p.subject}</p>
      {p.html ? (
        <>
          <div class="field-label">{fmt.t('tpl.html')}</div>
          <EmailPreview html={p.html} label={fmt.t('tpl.htmlPreview')} testid="template-preview-html" />
        </>
      ) : null}
      {p.text ? (
        <details class="table-details" open={!p.html}>
          <summary>{fmt.t('tpl.text')}</summary>
          <pre class="code" data-testid="template-preview-text">{p.text}</pre>
        </details>
      ) : null}
    </div>
  );
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

function SendCard({ template }: { template: string }) {
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
          <small id="send-cat-hint" class="muted">{fmt.t(category === 'marketing' ? 'send.marketingHint' : 'send.transactionalHint')}</small></label>
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
        <div class="notice send-report" role="status" data-testid="send-report" data-queued={report.queued} data-key={report.key}>
          <p><strong>{fmt.t('send.queued', { queued: fmt.integer(report.queued), audience: fmt.integer(report.audience) })}</strong></p>
          <ul class="plain small">
            <li>{fmt.t('send.duplicates')}: {fmt.integer(report.duplicates)}</li>
            <li>{fmt.t('send.noEmail')}: {fmt.integer(report.skipped.no_email)}</li>
            <li>{fmt.t('send.noConsent')}: {fmt.integer(report.skipped.no_consent)}</li>
            <li>{fmt.t('send.suppressed')}: {fmt.integer(report.skipped.suppressed)}</li>
          </ul>
          <p><a href={href('/messages', { campaign: campaign.trim() || undefined })} data-testid="send-report-link">{fmt.t('send.viewMessages')}</a></p>
        </div>
      )}
    </Card>
  );
}
