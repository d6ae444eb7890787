// Campaigns (docs/campaigns.md): the list with the delivery rules, the composer (audience,
// variants with weights, holdout, A/B test, send time, goal window; save, schedule, send now,
// cancel, delete) with the audience a launch would reach, and the report with the lift against
// the holdout drawn as its 95 % interval.
import { Fragment, type ComponentChildren } from 'preact';
import { useEffect, useId, useState } from 'preact/hooks';
import {
  api, fieldErrors, type Campaign, type CampaignArm, type CampaignLaunch, type CampaignLift, type CampaignReport,
  type DeliveryRules, type MessageTemplate, type Page, type Segment, type Survey, type WinnerMetric,
} from '../api';
import { Async, Card, Empty, ErrorBox, errorText, Loading, PageHeader, Segmented, Stat } from '../components';
import { useApp } from '../context';
import { useApi, useDebounced, useRefreshWhile } from '../hooks';
import type { Formatter, MessageKey } from '../i18n';
import { href, navigate, useRoute } from '../router';
import { ChannelBadge } from './templates';

// Only drafts and scheduled campaigns can be changed; these can be cancelled or deleted.
const EDITABLE = ['draft', 'scheduled'];
const CANCELLABLE = ['draft', 'scheduled', 'testing'];
const DELETABLE = ['draft', 'done', 'cancelled'];
const LAUNCHED = ['running', 'testing', 'done'];

const enc = encodeURIComponent;
const campaignPath = (name: string) => `/api/v1/campaigns/${enc(name)}`;

// The campaigns area's two pages.
export function CampaignTabs({ current }: { current: 'campaigns' | 'calendar' }) {
  const { fmt } = useApp();
  return (
    <nav class="subnav" aria-label={fmt.t('camp.area')}>
      <a href="#/campaigns" aria-current={current === 'campaigns' ? 'page' : undefined}>{fmt.t('camp.title')}</a>
      <a href="#/calendar" aria-current={current === 'calendar' ? 'page' : undefined} data-testid="nav-calendar-tab">{fmt.t('cal.title')}</a>
    </nav>
  );
}

export function CampaignStateBadge({ state }: { state: string }) {
  const { fmt } = useApp();
  const key = `camp.state.${state}`;
  return <span class={`badge camp-state camp-state-${state}`} data-testid="campaign-state" data-value={state}>{fmt.has(key) ? fmt.t(key as MessageKey) : state}</span>;
}

// Who a campaign goes to: its segment and/or its expression.
export function AudienceText({ segment, where }: { segment: string; where: string }) {
  const { fmt } = useApp();
  if (!segment && !where) return <>—</>;
  return (
    <span class="break-words">
      {segment && <a href={href('/segments')}>{segment}</a>}
      {segment && where && ` ${fmt.t('camp.and')} `}
      {where && <code class="expr">{where}</code>}
    </span>
  );
}

// A campaign with a survey is a survey wave: its messages carry the survey's invitation.
export function SurveyBadge({ survey, testid = 'campaign-survey-badge' }: { survey: string; testid?: string }) {
  const { fmt } = useApp();
  return <span class="badge survey-wave" data-testid={testid} data-value={survey}>{fmt.t('camp.surveyWave', { survey })}</span>;
}

// A calendar day (YYYY-MM-DD) in the language's medium format, whatever the time zone.
export function formatDay(fmt: Formatter, day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return day;
  return new Intl.DateTimeFormat(fmt.locale === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

// When a campaign is sent, in words.
export function sendTimeText(fmt: Formatter, c: { send_at: string | null; send_date?: string | null; local_time: string | null }): string {
  if (c.local_time) return c.send_date ? fmt.t('camp.whenLocal', { date: formatDay(fmt, c.send_date), time: c.local_time }) : fmt.t('camp.whenLocalNoDate', { time: c.local_time });
  if (c.send_at) return fmt.dateTime(c.send_at);
  return fmt.t('camp.whenLaunched');
}

// ---- the list ---------------------------------------------------------------------------

export function CampaignsPage() {
  const { fmt, canWrite } = useApp();
  const list = useApi<{ data: Campaign[] }>('/api/v1/campaigns');
  const templates = useApi<{ data: MessageTemplate[] }>('/api/v1/templates');
  const channelOf = new Map((templates.data?.data ?? []).map((t) => [t.name, t.channel]));
  return (
    <>
      <PageHeader title={fmt.t('camp.title')}>
        {canWrite && <a class="btn btn-primary" href="#/campaigns/new" data-testid="campaign-new">+ {fmt.t('camp.new')}</a>}
      </PageHeader>
      <CampaignTabs current="campaigns" />
      {!canWrite && <p class="muted">{fmt.t('common.readOnly')}</p>}
      <Card>
        <Async value={list}>{(l) => l.data.length === 0 ? <Empty>{fmt.t('camp.none')}</Empty> : (
          <div class="table-wrap" tabIndex={0}>
            <table class="table" data-testid="campaign-table">
              <thead><tr>
                <th scope="col">{fmt.t('common.name')}</th>
                <th scope="col">{fmt.t('tpl.channel')}</th>
                <th scope="col">{fmt.t('camp.state')}</th>
                <th scope="col" class="hide-sm">{fmt.t('camp.audience')}</th>
                <th scope="col" class="hide-sm">{fmt.t('camp.sendTime')}</th>
                <th scope="col"><span class="sr-only">{fmt.t('camp.report')}</span></th>
              </tr></thead>
              <tbody>{l.data.map((c) => {
                const channel = channelOf.get(c.variants[0]?.template ?? '');
                return (
                  <tr key={c.name} data-testid="campaign-row" data-name={c.name} data-state={c.state}>
                    <th scope="row"><a href={href(`/campaigns/${enc(c.name)}`)}>{c.name}</a>{c.survey && <SurveyBadge survey={c.survey} />}</th>
                    <td>{channel ? <ChannelBadge channel={channel} /> : '—'}</td>
                    <td><CampaignStateBadge state={c.state} /></td>
                    <td class="hide-sm"><AudienceText segment={c.segment} where={c.where} /></td>
                    <td class="hide-sm" data-testid="campaign-send-time">{sendTimeText(fmt, c)}</td>
                    <td>{LAUNCHED.includes(c.state) && <a href={href(`/campaigns/${enc(c.name)}/report`)} data-testid="campaign-report-link">{fmt.t('camp.report')}</a>}</td>
                  </tr>
                );
              })}</tbody>
            </table>
          </div>
        )}</Async>
      </Card>
      <DeliveryRulesCard />
    </>
  );
}

// ---- delivery rules -----------------------------------------------------------------------

function DeliveryRulesCard() {
  const { fmt, isAdmin } = useApp();
  const rules = useApi<DeliveryRules>('/api/v1/delivery-rules');
  // The form is made anew for the reloaded rules; "saved" stays shown for the rules just saved.
  const [savedAt, setSavedAt] = useState<string | null>(null);
  return (
    <Card title={fmt.t('rules.title')} testid="delivery-rules">
      <p class="muted small">{fmt.t('rules.intro')}</p>
      <Async value={rules}>{(r) => <RulesForm key={r.updated_at ?? 'none'} rules={r} ro={!isAdmin} justSaved={savedAt !== null && savedAt === r.updated_at}
        onSaved={(x) => { setSavedAt(x.updated_at); rules.reload(); }} />}</Async>
    </Card>
  );
}

function RulesForm({ rules, ro, justSaved, onSaved }: { rules: DeliveryRules; ro: boolean; justSaved: boolean; onSaved: (saved: DeliveryRules) => void }) {
  const { fmt } = useApp();
  const [max, setMax] = useState(String(rules.max_messages));
  const [days, setDays] = useState(String(rules.window_days));
  const [start, setStart] = useState(rules.quiet_hours.start);
  const [end, setEnd] = useState(rules.quiet_hours.end);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(justSaved);
  const errs = fieldErrors(error);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(null); setSaved(false);
    try {
      const r = await api.put<DeliveryRules>('/api/v1/delivery-rules', {
        max_messages: numberOrText(max), window_days: numberOrText(days), quiet_hours: { start, end },
      });
      setSaved(true);
      onSaved(r);
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  const capOff = Number(max) === 0;
  const quietOff = start === end;
  return (
    <form class="form-grid rules-form" onSubmit={save} noValidate aria-label={fmt.t('rules.title')} data-testid="rules-form">
      <Field label={fmt.t('rules.max')} name="max_messages" errors={errs} hint={fmt.t('rules.maxHint')}>
        {(p) => <input {...p} type="number" min={0} step={1} inputMode="numeric" value={max} disabled={ro} onInput={(e) => { setMax(e.currentTarget.value); setSaved(false); }} data-testid="rules-max" />}
      </Field>
      <Field label={fmt.t('rules.window')} name="window_days" errors={errs} hint={fmt.t('rules.windowHint')}>
        {(p) => <input {...p} type="number" min={0.05} max={90} step="any" inputMode="decimal" value={days} disabled={ro} onInput={(e) => { setDays(e.currentTarget.value); setSaved(false); }} data-testid="rules-window" />}
      </Field>
      <div class="field-block">
        <fieldset class="time-pair" disabled={ro}>
          <legend class="field-label">{fmt.t('rules.quiet')}</legend>
          <Field label={fmt.t('rules.quietStart')} name="quiet_hours/start" errors={errs}>
            {(p) => <input {...p} type="time" value={start} onInput={(e) => { setStart(e.currentTarget.value); setSaved(false); }} data-testid="rules-quiet-start" />}
          </Field>
          <Field label={fmt.t('rules.quietEnd')} name="quiet_hours/end" errors={errs}>
            {(p) => <input {...p} type="time" value={end} onInput={(e) => { setEnd(e.currentTarget.value); setSaved(false); }} data-testid="rules-quiet-end" />}
          </Field>
        </fieldset>
        <small class="muted">{fmt.t('rules.quietHint')}</small>
      </div>
      <p class="span-all small" data-testid="rules-summary">
        {capOff ? fmt.t('rules.summaryNoCap') : fmt.t('rules.summaryCap', { max: fmt.integer(Number(max)), days: fmt.number(Number(days), 2) })}{' '}
        {quietOff ? fmt.t('rules.summaryNoQuiet') : fmt.t('rules.summaryQuiet', { start, end })}
      </p>
      <OtherErrors error={error} known={['/max_messages', '/window_days', '/quiet_hours/start', '/quiet_hours/end']} />
      {ro ? <p class="muted small span-all">{fmt.t('rules.adminOnly')}</p> : (
        <div class="form-actions span-all">
          <button type="submit" class="btn btn-primary" disabled={busy} data-testid="rules-save">{busy ? fmt.t('common.saving') : fmt.t('common.save')}</button>
          {saved && <span class="ok" role="status" data-testid="rules-saved">✓ {fmt.t('common.saved')}</span>}
        </div>
      )}
    </form>
  );
}

// A number typed, as a number; anything else as typed (the server names the problem).
function numberOrText(s: string): number | string | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

type FieldProps = { id: string; name: string; 'aria-invalid': boolean; 'aria-describedby': string };

// A labelled input with its hint and the server's problems with it (by JSON pointer, `name`
// without the leading slash), linked by aria-describedby.
function Field({ label, name, errors, hint, children, class: cls }: {
  label: ComponentChildren; name: string; errors: Map<string, string[]>; hint?: ComponentChildren; class?: string;
  children: (p: FieldProps) => ComponentChildren;
}) {
  const id = useId();
  const mine = errors.get(`/${name}`) ?? [];
  const testid = name.replace(/\//g, '.');
  return (
    <div class={`field-block ${cls ?? ''}`} data-field={name}>
      <label class="field" for={id}><span>{label}</span></label>
      {children({ id, name, 'aria-invalid': mine.length > 0, 'aria-describedby': `${id}-h ${id}-e` })}
      {hint && <small id={`${id}-h`} class="muted">{hint}</small>}
      <div id={`${id}-e`}>
        {mine.length > 0 && <p class="form-error" role="alert" data-testid={`field-error-${testid}`}>{mine.join(' · ')}</p>}
      </div>
    </div>
  );
}

// The problem of a failed request that names no field on the form.
function OtherErrors({ error, known }: { error: unknown; known: string[] }) {
  if (error === null) return null;
  const errs = fieldErrors(error);
  const placed = [...errs.keys()].some((k) => known.some((p) => k === p || k.startsWith(`${p}/`)));
  if (placed) return null;
  return <div class="span-all"><ErrorBox error={error} /></div>;
}

// ---- the composer -------------------------------------------------------------------------

export function CampaignEditorPage({ name }: { name: string | null }) {
  const { fmt } = useApp();
  const existing = useApi<Campaign>(name ? campaignPath(name) : null);
  const title = name ? `${fmt.t('camp.edit')}: ${name}` : fmt.t('camp.new');
  if (name && existing.error) return <><Crumb /><PageHeader title={title} /><ErrorBox error={existing.error} onRetry={existing.reload} /></>;
  if (name && !existing.data) return <><Crumb /><PageHeader title={title} /><Loading /></>;
  return <Composer key={existing.data?.name ?? 'new'} initial={existing.data} />;
}

function Crumb() {
  const { fmt } = useApp();
  return <p class="breadcrumb"><a href="#/campaigns">← {fmt.t('camp.title')}</a></p>;
}

type Timing = 'launch' | 'at' | 'local';
interface Form {
  name: string; segment: string; where: string; variants: { template: string; weight: string }[];
  holdout: string; test: string; metric: WinnerMetric; testWindow: string;
  timing: Timing; at: string; date: string; localTime: string; optimize: boolean; goal: string; survey: string;
}

// An instant as the value of <input type="datetime-local"> in a time zone.
function localInput(iso: string | null, zone: string): string {
  if (!iso) return '';
  let parts: Intl.DateTimeFormatPart[];
  const opts: Intl.DateTimeFormatOptions = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  try { parts = new Intl.DateTimeFormat('en-CA', { ...opts, timeZone: zone }).formatToParts(new Date(iso)); }
  catch { parts = new Intl.DateTimeFormat('en-CA', { ...opts, timeZone: 'UTC' }).formatToParts(new Date(iso)); }
  const g = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${g('year')}-${g('month')}-${g('day')}T${g('hour')}:${g('minute')}`;
}

function formOf(c: Campaign | null, zone: string): Form {
  return {
    name: c?.name ?? '', segment: c?.segment ?? '', where: c?.where ?? '',
    variants: c?.variants.length ? c.variants.map((v) => ({ template: v.template, weight: String(v.weight) })) : [{ template: '', weight: '1' }],
    holdout: String(c?.holdout_percent ?? 10), test: String(c?.test_percent ?? 100),
    metric: (c?.winner_metric as WinnerMetric | undefined) ?? 'clicked', testWindow: String(c?.test_window_hours ?? 4),
    timing: c?.local_time ? 'local' : c?.send_at ? 'at' : 'launch',
    at: c?.local_time ? '' : localInput(c?.send_at ?? null, zone),
    date: c?.send_date ?? '', localTime: c?.local_time ?? '09:00',
    optimize: c?.optimize_send_time ?? false, goal: String(c?.goal_window_days ?? 7), survey: c?.survey ?? '',
  };
}

// The PUT body of the form (without `schedule`).
function bodyOf(f: Form): Record<string, unknown> {
  const ab = f.variants.length > 1;
  const b: Record<string, unknown> = {
    segment: f.segment, where: f.where.trim(),
    variants: f.variants.map((v) => ({ template: v.template, weight: numberOrText(v.weight) ?? 1 })),
    holdout_percent: numberOrText(f.holdout) ?? 0,
    test_percent: ab ? numberOrText(f.test) ?? 100 : 100,
    optimize_send_time: f.optimize,
    goal_window_days: numberOrText(f.goal),
    survey: f.survey,  // "" for none
  };
  if (ab) { b.winner_metric = f.metric; b.test_window_hours = numberOrText(f.testWindow); }
  if (f.timing === 'at') { if (f.at) b.send_at = f.at.length === 16 ? `${f.at}:00` : f.at; b.local_time = ''; }
  else if (f.timing === 'local') { if (f.date) b.send_date = f.date; b.local_time = f.localTime; }
  else { b.send_at = null; b.local_time = ''; }  // sent when launched: no send time
  for (const k of Object.keys(b)) if (b[k] === undefined) delete b[k];
  return b;
}

const FORM_FIELDS = ['/name', '/segment', '/where', '/variants', '/holdout_percent', '/test_percent', '/winner_metric',
  '/test_window_hours', '/send_at', '/send_date', '/local_time', '/optimize_send_time', '/goal_window_days', '/survey', '/state', '/schedule'];

function Composer({ initial }: { initial: Campaign | null }) {
  const { fmt, canWrite, workspace } = useApp();
  const zone = workspace?.time_zone ?? 'UTC';
  const [campaign, setCampaign] = useState<Campaign | null>(initial);
  const [form, setForm] = useState<Form>(() => formOf(initial, zone));
  const [saved, setSaved] = useState<string>(() => JSON.stringify(bodyOf(formOf(initial, zone))));
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(useRoute().query.get('saved') ? fmt.t('camp.savedNotice') : null);
  const segments = useApi<Page<Segment>>('/api/v1/segments?limit=500');
  const templates = useApi<{ data: MessageTemplate[] }>('/api/v1/templates');
  const surveys = useApi<Page<Survey>>('/api/v1/surveys');
  const tplList = templates.data?.data ?? [];
  const surveyList = surveys.data?.data ?? [];
  const channelOf = (t: string) => tplList.find((x) => x.name === t)?.channel;
  const channel = channelOf(form.variants[0]?.template ?? '');

  const state = campaign?.state ?? 'new';
  const editable = canWrite && (campaign === null || EDITABLE.includes(state));
  const ro = !editable;
  const errs = fieldErrors(error);
  const change = <K extends keyof Form>(k: K, v: Form[K]) => { setNotice(null); setError(null); setForm((f) => ({ ...f, [k]: v })); };
  const setVariant = (i: number, k: 'template' | 'weight', v: string) => {
    setNotice(null); setError(null);
    setForm((f) => ({ ...f, variants: f.variants.map((x, j) => (j === i ? { ...x, [k]: v } : x)) }));
  };
  const body = bodyOf(form);
  const dirty = JSON.stringify(body) !== saved;
  const ab = form.variants.length > 1;

  // Saves the form (PUT); `schedule` true/false sets the state, absent keeps it.
  const put = async (schedule?: boolean): Promise<Campaign> => {
    const name = (campaign?.name ?? form.name).trim();
    const c = await api.put<Campaign>(campaignPath(name), schedule === undefined ? body : { ...body, schedule });
    setSaved(JSON.stringify(body));
    setCampaign(c);
    return c;
  };
  const run = async (what: string, f: () => Promise<void>) => {
    setBusy(what); setError(null); setNotice(null);
    try { await f(); } catch (err) { setError(err); } finally { setBusy(null); }
  };
  const after = (c: Campaign, text: string) => {
    if (!initial) navigate(`/campaigns/${enc(c.name)}`, { saved: 1 }, true);
    else setNotice(text);
  };
  const saveDraft = (e?: Event) => {
    e?.preventDefault();
    void run('save', async () => {
      const c = await put(campaign?.state === 'scheduled' ? undefined : false);
      after(c, fmt.t('camp.savedNotice'));
    });
  };
  const schedule = () => void run('schedule', async () => {
    const c = await put(true);
    after(c, fmt.t('camp.scheduledNotice', { when: sendTimeText(fmt, c) }));
  });
  const unschedule = () => void run('unschedule', async () => { const c = await put(false); after(c, fmt.t('camp.savedNotice')); });
  const sendNow = () => {
    const name = (campaign?.name ?? form.name).trim();
    if (!window.confirm(fmt.t('camp.confirmSendNow', { name }))) return;
    void run('send', async () => {
      // Without a send time a campaign is a draft until the schedule below sends it now.
      const c = await put(form.timing === 'launch' && state === 'scheduled' ? false : undefined);
      await api.post<Campaign>(`${campaignPath(c.name)}/schedule`, { send_at: new Date().toISOString() });
      navigate(`/campaigns/${enc(c.name)}/report`);
    });
  };
  const cancel = () => {
    if (!campaign || !window.confirm(fmt.t('camp.confirmCancel', { name: campaign.name }))) return;
    void run('cancel', async () => {
      const c = await api.post<Campaign>(`${campaignPath(campaign.name)}/cancel`, {});
      setCampaign(c);
      setNotice(fmt.t('camp.cancelledNotice'));
    });
  };
  const remove = () => {
    if (!campaign || !window.confirm(fmt.t('camp.confirmDelete', { name: campaign.name }))) return;
    void run('delete', async () => { await api.del(campaignPath(campaign.name)); navigate('/campaigns'); });
  };

  const segmentList = segments.data?.data ?? [];
  const total = form.variants.reduce((s, v) => s + (Number(v.weight) > 0 ? Number(v.weight) : 0), 0);
  const readOnlyReason = !canWrite ? fmt.t('common.readOnly')
    : campaign && !EDITABLE.includes(state) ? fmt.t(`camp.locked.${state}` as MessageKey) : null;

  return (
    <>
      <Crumb />
      <PageHeader title={campaign ? `${fmt.t('camp.edit')}: ${campaign.name}` : fmt.t('camp.new')}>
        {campaign && <CampaignStateBadge state={campaign.state} />}
        {campaign && LAUNCHED.includes(campaign.state) && <a class="btn" href={href(`/campaigns/${enc(campaign.name)}/report`)} data-testid="campaign-open-report">{fmt.t('camp.report')}</a>}
      </PageHeader>
      {readOnlyReason && <p class="notice" role="note" data-testid="campaign-locked" data-state={state}>{readOnlyReason}</p>}
      {campaign?.last_error && <p class="notice notice-error" data-testid="campaign-last-error">{fmt.t('camp.lastError')}: {campaign.last_error}</p>}
      <div class="editor-layout camp-layout">
        <form class="card editor" onSubmit={saveDraft} noValidate aria-label={fmt.t('camp.composer')} data-testid="campaign-editor" data-state={state}>
          {!campaign && (
            <Field label={fmt.t('common.name')} name="name" errors={errs} hint={fmt.t('camp.nameHint')}>
              {(p) => <input {...p} type="text" required value={form.name} autoComplete="off" spellcheck={false}
                onInput={(e) => change('name', e.currentTarget.value)} data-testid="campaign-name" />}
            </Field>
          )}
          <fieldset class="camp-section" disabled={ro}>
            <legend>{fmt.t('camp.who')}</legend>
            <Field label={fmt.t('camp.segment')} name="segment" errors={errs} hint={fmt.t('camp.segmentHint')}>
              {(p) => (
                <select {...p} value={form.segment} onChange={(e) => change('segment', e.currentTarget.value)} aria-busy={segments.loading} data-testid="campaign-segment">
                  <option value="">{segments.loading ? fmt.t('state.loading') : fmt.t('camp.noSegment')}</option>
                  {form.segment && !segmentList.some((s) => s.name === form.segment) && <option value={form.segment}>{form.segment}</option>}
                  {segmentList.map((s) => <option key={s.id} value={s.name}>{s.name}{s.size !== null ? ` (${fmt.integer(s.size)})` : ''}</option>)}
                </select>
              )}
            </Field>
            <Field label={fmt.t('camp.where')} name="where" errors={errs} hint={fmt.t('camp.whereHint')}>
              {(p) => <textarea {...p} rows={2} class="code" spellcheck={false} autoCapitalize="off" value={form.where}
                onInput={(e) => change('where', e.currentTarget.value)} data-testid="campaign-where" />}
            </Field>
            {segments.error !== null && <ErrorBox error={segments.error} onRetry={segments.reload} />}
          </fieldset>

          <fieldset class="camp-section" disabled={ro}>
            <legend>{fmt.t('camp.what')}{channel && <ChannelBadge channel={channel} />}</legend>
            <ol class="variant-list" data-testid="campaign-variants">
              {form.variants.map((v, i) => {
                const letter = String.fromCharCode(65 + i);
                const share = total > 0 && Number(v.weight) > 0 ? Number(v.weight) / total : null;
                return (
                  <li key={i} class="variant-row" data-testid="variant-row" data-variant={letter}>
                    <span class="variant-letter" aria-hidden="true">{letter}</span>
                    <Field label={fmt.t('camp.variantTemplate', { v: letter })} name={`variants/${i}/template`} errors={errs}>
                      {(p) => (
                        <select {...p} value={v.template} onChange={(e) => setVariant(i, 'template', e.currentTarget.value)} aria-busy={templates.loading} data-testid="variant-template">
                          <option value="">{templates.loading ? fmt.t('state.loading') : '—'}</option>
                          {v.template && !tplList.some((t) => t.name === v.template) && <option value={v.template}>{v.template}</option>}
                          {tplList.map((t) => (
                            <option key={t.id} value={t.name} disabled={i > 0 && channel !== undefined && t.channel !== channel}>
                              {t.name} ({fmt.has(`channel.${t.channel}`) ? fmt.t(`channel.${t.channel}` as MessageKey) : t.channel})
                            </option>
                          ))}
                        </select>
                      )}
                    </Field>
                    {ab && (
                      <Field label={fmt.t('camp.weight')} name={`variants/${i}/weight`} errors={errs}
                        hint={share !== null ? fmt.t('camp.weightShare', { share: fmt.percent(share, 0) }) : undefined}>
                        {(p) => <input {...p} type="number" min={1} max={1000} step={1} inputMode="numeric" class="weight-input" value={v.weight}
                          onInput={(e) => setVariant(i, 'weight', e.currentTarget.value)} data-testid="variant-weight" />}
                      </Field>
                    )}
                    {form.variants.length > 1 && !ro && (
                      <button type="button" class="btn btn-small btn-icon variant-remove" aria-label={fmt.t('camp.removeVariant', { v: letter })}
                        onClick={() => change('variants', form.variants.filter((_, j) => j !== i))} data-testid="variant-remove">×</button>
                    )}
                  </li>
                );
              })}
            </ol>
            {(errs.get('/variants') ?? []).length > 0 && <p class="form-error" role="alert" data-testid="field-error-variants">{errs.get('/variants')!.join(' · ')}</p>}
            {!ro && form.variants.length < 26 && (
              <button type="button" class="btn btn-small" onClick={() => change('variants', [...form.variants, { template: '', weight: '1' }])} data-testid="variant-add">
                + {fmt.t('camp.addVariant')}</button>
            )}
            {templates.error !== null && <ErrorBox error={templates.error} onRetry={templates.reload} />}
            <Field label={fmt.t('camp.survey')} name="survey" errors={errs} hint={fmt.t('camp.surveyHint')}>
              {(p) => (
                <select {...p} value={form.survey} onChange={(e) => change('survey', e.currentTarget.value)} aria-busy={surveys.loading} data-testid="campaign-survey">
                  <option value="">{surveys.loading ? fmt.t('state.loading') : fmt.t('camp.noSurvey')}</option>
                  {form.survey && !surveyList.some((s) => s.name === form.survey) && <option value={form.survey}>{form.survey}</option>}
                  {surveyList.map((s) => {
                    const title = s.title?.[fmt.locale] ?? s.title?.en;
                    return <option key={s.id} value={s.name}>{s.name}{title && title !== s.name ? ` — ${title}` : ''}</option>;
                  })}
                </select>
              )}
            </Field>
            {surveys.error !== null && <ErrorBox error={surveys.error} onRetry={surveys.reload} />}
          </fieldset>

          <fieldset class="camp-section" disabled={ro}>
            <legend>{fmt.t('camp.measure')}</legend>
            <div class="form-grid camp-grid">
              <Field label={fmt.t('camp.holdout')} name="holdout_percent" errors={errs} hint={fmt.t('camp.holdoutHint')}>
                {(p) => <input {...p} type="number" min={0} max={50} step={0.1} inputMode="decimal" value={form.holdout}
                  onInput={(e) => change('holdout', e.currentTarget.value)} data-testid="campaign-holdout" />}
              </Field>
              {ab && <>
                <Field label={fmt.t('camp.test')} name="test_percent" errors={errs} hint={fmt.t('camp.testHint')}>
                  {(p) => <input {...p} type="number" min={0.1} max={100} step={0.1} inputMode="decimal" value={form.test}
                    onInput={(e) => change('test', e.currentTarget.value)} data-testid="campaign-test" />}
                </Field>
                <Field label={fmt.t('camp.metric')} name="winner_metric" errors={errs} hint={fmt.t('camp.metricHint')}>
                  {(p) => (
                    <select {...p} value={form.metric} onChange={(e) => change('metric', e.currentTarget.value as WinnerMetric)} data-testid="campaign-metric">
                      {(['opened', 'clicked', 'converted'] as const).map((m) => <option key={m} value={m}>{fmt.t(`camp.metric.${m}`)}</option>)}
                    </select>
                  )}
                </Field>
                <Field label={fmt.t('camp.testWindow')} name="test_window_hours" errors={errs} hint={fmt.t('camp.testWindowHint')}>
                  {(p) => <input {...p} type="number" min={1} max={720} step="any" inputMode="decimal" value={form.testWindow}
                    onInput={(e) => change('testWindow', e.currentTarget.value)} data-testid="campaign-test-window" />}
                </Field>
              </>}
              <Field label={fmt.t('camp.goal')} name="goal_window_days" errors={errs} hint={fmt.t('camp.goalHint')}>
                {(p) => <input {...p} type="number" min={0.05} max={90} step="any" inputMode="decimal" value={form.goal}
                  onInput={(e) => change('goal', e.currentTarget.value)} data-testid="campaign-goal" />}
              </Field>
            </div>
            {!ab && <p class="muted small">{fmt.t('camp.abHint')}</p>}
          </fieldset>

          <fieldset class="camp-section" disabled={ro}>
            <legend>{fmt.t('camp.when')}</legend>
            <Segmented name="timing" label={fmt.t('camp.when')} value={form.timing} onChange={(v) => change('timing', v)} disabled={ro} testid="campaign-timing"
              options={[{ value: 'launch', label: fmt.t('camp.timing.launch') }, { value: 'at', label: fmt.t('camp.timing.at') }, { value: 'local', label: fmt.t('camp.timing.local') }]} />
            <p class="muted small" data-testid="campaign-timing-hint">{fmt.t(`camp.timingHint.${form.timing}`, { zone })}</p>
            {form.timing === 'at' && (
              <Field label={fmt.t('camp.sendAt', { zone })} name="send_at" errors={errs}>
                {(p) => <input {...p} type="datetime-local" value={form.at} onInput={(e) => change('at', e.currentTarget.value)} data-testid="campaign-send-at" />}
              </Field>
            )}
            {form.timing === 'local' && (
              <div class="form-grid camp-grid">
                <Field label={fmt.t('camp.sendDate')} name="send_date" errors={errs}>
                  {(p) => <input {...p} type="date" value={form.date} onInput={(e) => change('date', e.currentTarget.value)} data-testid="campaign-send-date" />}
                </Field>
                <Field label={fmt.t('camp.localTime')} name="local_time" errors={errs}>
                  {(p) => <input {...p} type="time" value={form.localTime} onInput={(e) => change('localTime', e.currentTarget.value)} data-testid="campaign-local-time" />}
                </Field>
              </div>
            )}
            {form.timing !== 'at' && (errs.get('/send_at') ?? []).length > 0 && <p class="form-error" role="alert" data-testid="field-error-send_at">{errs.get('/send_at')!.join(' · ')}</p>}
            <label class="check-field camp-check">
              <input type="checkbox" checked={form.optimize} onChange={(e) => change('optimize', e.currentTarget.checked)} aria-describedby="camp-optimize-hint" data-testid="campaign-optimize" />
              <span>{fmt.t('camp.optimize')}</span>
            </label>
            <small id="camp-optimize-hint" class="muted">{fmt.t('camp.optimizeHint')}</small>
          </fieldset>

          <OtherErrors error={error} known={FORM_FIELDS} />
          {notice && <p class="notice notice-ok" role="status" data-testid="campaign-notice">{notice}</p>}
          {canWrite && (
            <div class="form-actions camp-actions">
              {editable && <>
                <button type="submit" class="btn" disabled={busy !== null} data-testid="campaign-save">
                  {busy === 'save' ? fmt.t('common.saving') : state === 'scheduled' ? fmt.t('camp.saveChanges') : fmt.t('camp.saveDraft')}</button>
                {form.timing === 'launch'
                  ? <button type="button" class="btn btn-primary" disabled={busy !== null} onClick={sendNow} data-testid="campaign-send-now">
                    {busy === 'send' ? fmt.t('camp.sending') : fmt.t('camp.sendNow')}</button>
                  : state !== 'scheduled' && <button type="button" class="btn btn-primary" disabled={busy !== null} onClick={schedule} data-testid="campaign-schedule">
                    {busy === 'schedule' ? fmt.t('common.saving') : fmt.t('camp.schedule')}</button>}
                {state === 'scheduled' && <button type="button" class="btn" disabled={busy !== null} onClick={unschedule} data-testid="campaign-unschedule">{fmt.t('camp.unschedule')}</button>}
              </>}
              {campaign && CANCELLABLE.includes(state) && <button type="button" class="btn btn-danger" disabled={busy !== null} onClick={cancel} data-testid="campaign-cancel">{fmt.t('camp.cancel')}</button>}
              {campaign && DELETABLE.includes(state) && <button type="button" class="btn btn-danger" disabled={busy !== null} onClick={remove} data-testid="campaign-delete">{fmt.t('common.delete')}</button>}
            </div>
          )}
        </form>
        {(campaign === null || EDITABLE.includes(state)) && (
          <AudienceCard name={(campaign?.name ?? form.name).trim()} ready={form.variants.every((v) => v.template !== '')}
            body={form.timing === 'launch' && state === 'scheduled' ? { ...body, schedule: false } : body}
            dirty={dirty || campaign === null} channel={channel} ab={ab} />
        )}
        {campaign && !EDITABLE.includes(state) && <CampaignFacts c={campaign} />}
      </div>
    </>
  );
}

// What a launch now would do (POST …/preview with the form as the body): the campaign as it
// would be saved, also before it is saved, recounted as the form changes (debounced).
const PREVIEW_NAME = 'new-campaign';  // the path of a new campaign's preview before it has a name
function AudienceCard({ name, body, ready, dirty, channel, ab }: {
  name: string; body: Record<string, unknown>; ready: boolean; dirty: boolean; channel: string | undefined; ab: boolean;
}) {
  const { fmt } = useApp();
  const [p, setP] = useState<CampaignLaunch | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const asked = JSON.stringify(body);
  const key = useDebounced(ready ? `${name || PREVIEW_NAME}\n${asked}` : '', 300);
  const [shown, setShown] = useState('');
  useEffect(() => {
    if (!key) { setP(null); setError(null); setLoading(false); return; }
    const [path, json] = [key.slice(0, key.indexOf('\n')), key.slice(key.indexOf('\n') + 1)];
    const ctl = new AbortController();
    setLoading(true); setError(null);
    api.post<CampaignLaunch>(`${campaignPath(path)}/preview`, JSON.parse(json), ctl.signal).then(
      (r) => { if (!ctl.signal.aborted) { setP(r); setShown(json); setLoading(false); } },
      (e: unknown) => { if (!ctl.signal.aborted) { setError(e); setP(null); setShown(json); setLoading(false); } });
    return () => ctl.abort();
  }, [key]);
  const waiting = ready && (loading || key !== `${name || PREVIEW_NAME}\n${asked}`);
  const skipped = p ? p.skipped.no_email + p.skipped.no_consent + p.skipped.suppressed + p.skipped.no_subscription : 0;
  return (
    <Card title={fmt.t('camp.reach')} class="preview-card camp-preview" testid="campaign-preview">
      <div aria-live="polite" aria-busy={waiting} data-testid="campaign-preview-body" data-body={shown}
        data-state={!ready ? 'unsaved' : waiting ? 'loading' : error ? 'error' : p ? 'ready' : 'none'}>
        {!ready ? <p class="muted" data-testid="campaign-preview-unsaved">{fmt.t('camp.reachUnsaved')}</p>
          : error ? <p class="notice notice-error" data-testid="campaign-preview-error">{errorText(error)}</p>
            : !p ? <Loading />
              : (
                <>
                  <p class="big-sentence" data-testid="campaign-reach-sentence">
                    {fmt.t('camp.reachSentence', { messages: fmt.integer(p.messages), audience: fmt.integer(p.audience) })}
                  </p>
                  <div class="stat-grid camp-stats">
                    <Stat label={fmt.t('camp.p.audience')} value={fmt.integer(p.audience)} raw={p.audience} testid="preview-audience" />
                    <Stat label={fmt.t('camp.p.holdout')} value={fmt.integer(p.holdout)} raw={p.holdout} testid="preview-holdout" />
                    {(ab || p.waiting > 0) && <Stat label={fmt.t('camp.p.waiting')} value={fmt.integer(p.waiting)} raw={p.waiting} testid="preview-waiting" />}
                    <Stat label={fmt.t('camp.p.capped')} value={fmt.integer(p.capped)} raw={p.capped} testid="preview-capped" />
                    <Stat label={fmt.t('camp.p.skipped')} value={fmt.integer(skipped)} raw={skipped} testid="preview-skipped" />
                    <Stat label={fmt.t('camp.p.messages')} value={fmt.integer(p.messages)} raw={p.messages} testid="preview-messages" />
                  </div>
                  <ul class="plain small camp-skips">
                    {channel !== 'push' && <li>{fmt.t('send.noEmail')}: <span data-testid="preview-no_email" data-value={p.skipped.no_email}>{fmt.integer(p.skipped.no_email)}</span></li>}
                    <li>{fmt.t('send.noConsent')}: <span data-testid="preview-no_consent" data-value={p.skipped.no_consent}>{fmt.integer(p.skipped.no_consent)}</span></li>
                    <li>{fmt.t('send.suppressed')}: <span data-testid="preview-suppressed" data-value={p.skipped.suppressed}>{fmt.integer(p.skipped.suppressed)}</span></li>
                    {channel === 'push' && <li>{fmt.t('send.noSubscription')}: <span data-testid="preview-no_subscription" data-value={p.skipped.no_subscription}>{fmt.integer(p.skipped.no_subscription)}</span></li>}
                    {(body.survey || (p.skipped.survey_not_due ?? 0) > 0) && (
                      <li>{fmt.t('camp.p.surveyNotDue')}: <span data-testid="preview-survey_not_due" data-value={p.skipped.survey_not_due ?? 0}>{fmt.integer(p.skipped.survey_not_due ?? 0)}</span></li>
                    )}
                    <li>{fmt.t('camp.p.deferred')}: <span data-testid="preview-deferred" data-value={p.deferred_by_quiet_hours}>{fmt.integer(p.deferred_by_quiet_hours)}</span></li>
                    {p.per_variant.length > 1 && p.per_variant.map((n, i) => (
                      <li key={i}>{fmt.t('camp.variant', { v: String.fromCharCode(65 + i) })}: <span data-testid="preview-variant" data-value={n}>{fmt.integer(n)}</span></li>
                    ))}
                  </ul>
                  {dirty && <p class="notice small" data-testid="campaign-preview-stale">{fmt.t('camp.reachStale')}</p>}
                </>
              )}
      </div>
    </Card>
  );
}

// A launched or cancelled campaign's dates.
function CampaignFacts({ c }: { c: Campaign }) {
  const { fmt } = useApp();
  const rows: [MessageKey, string | null][] = [
    ['camp.sendTime', sendTimeText(fmt, c)], ['camp.launchedAt', c.launched_at], ['camp.testEndsAt', c.test_ends_at],
    ['camp.finishedAt', c.finished_at], ['camp.winner', c.winner], ['camp.survey', c.survey || null],
  ];
  return (
    <Card title={fmt.t('camp.facts')} class="preview-card" testid="campaign-facts">
      <dl class="dl">
        {rows.filter(([, v]) => v).map(([k, v]) => (
          <Fragment key={k}><dt>{fmt.t(k)}</dt><dd data-testid={k === 'camp.survey' ? 'campaign-facts-survey' : undefined}>{k === 'camp.sendTime' || k === 'camp.winner' || k === 'camp.survey' ? v : fmt.dateTime(v)}</dd></Fragment>
        ))}
      </dl>
    </Card>
  );
}

// ---- the report ---------------------------------------------------------------------------

const ARM_COUNTS = ['members', 'messaged', 'sent', 'opened', 'clicked', 'converted', 'unsubscribed'] as const;

// Rates as docs/campaigns.md defines them: opens and clicks of the messaged members,
// conversions and unsubscribes of all members (intent to treat).
function rates(a: CampaignArm) {
  const of = (n: number, d: number) => (d > 0 ? n / d : null);
  return { open_rate: of(a.opened, a.messaged), click_rate: of(a.clicked, a.messaged), conversion_rate: of(a.converted, a.members), unsubscribe_rate: of(a.unsubscribed, a.members) };
}

export function CampaignReportPage({ name }: { name: string }) {
  const { fmt } = useApp();
  const report = useApi<CampaignReport>(`${campaignPath(name)}/report`);
  const st = report.data?.campaign.state ?? '';
  // While the campaign is on its way the numbers refresh themselves.
  useRefreshWhile(['scheduled', 'running', 'testing'].includes(st), report.reload, report.data, 5000);
  return (
    <>
      <Crumb />
      <PageHeader title={`${fmt.t('camp.reportOf')}: ${name}`}>
        {report.data && <CampaignStateBadge state={st} />}
        {report.data?.campaign.survey && <SurveyBadge survey={report.data.campaign.survey} />}
        <a class="btn" href={href(`/campaigns/${enc(name)}`)}>{fmt.t('camp.openCampaign')}</a>
      </PageHeader>
      {report.error ? <ErrorBox error={report.error} onRetry={report.reload} /> : !report.data ? <Loading /> : <Report r={report.data} />}
    </>
  );
}

function Report({ r }: { r: CampaignReport }) {
  const { fmt } = useApp();
  const c = r.campaign;
  const arms = [...r.variants, r.recipients, r.holdout];
  const launched = LAUNCHED.includes(c.state);
  return (
    <div data-testid="campaign-report" data-state={c.state}>
      {!launched && <p class="notice" data-testid="report-not-launched">{fmt.t(c.state === 'scheduled' ? 'camp.notLaunchedScheduled' : 'camp.notLaunched', { when: sendTimeText(fmt, c) })}</p>}
      <div class="grid-2">
        <LiftCard lift={r.conversion_lift} kind="conversion" />
        <WinnerCard r={r} />
      </div>
      <Card title={fmt.t('camp.arms')} testid="report-arms">
        <div class="table-wrap" tabIndex={0}>
          <table class="table compact report-table">
            <thead><tr>
              <th scope="col">{fmt.t('camp.arm')}</th>
              {ARM_COUNTS.map((k) => <th key={k} scope="col" class="num">{fmt.t(`camp.r.${k}`)}</th>)}
              <th scope="col" class="num">{fmt.t('camp.r.revenue')}</th>
              <th scope="col" class="num">{fmt.t('camp.r.open_rate')}</th>
              <th scope="col" class="num">{fmt.t('camp.r.click_rate')}</th>
              <th scope="col" class="num">{fmt.t('camp.r.conversion_rate')}</th>
            </tr></thead>
            <tbody>{arms.map((a) => {
              const rt = rates(a);
              const id = a === r.recipients ? 'recipients' : a.name;
              const label = a === r.recipients ? fmt.t('camp.allVariants') : a === r.holdout ? fmt.t('camp.holdoutArm') : fmt.t('camp.variant', { v: a.name });
              return (
                <tr key={id} data-testid="report-arm" data-arm={id} class={a === r.recipients ? 'total-row' : ''}>
                  <th scope="row">{label}{a.template && <span class="muted small arm-template"> {a.template}</span>}
                    {r.winner?.variant === a.name && a !== r.recipients && r.recipients.members > 0 && <span class="badge winner-badge">{fmt.t('camp.winnerBadge')}</span>}</th>
                  {ARM_COUNTS.map((k) => <td key={k} class="num" data-testid={`arm-${k}`} data-value={a[k]}>{fmt.integer(a[k])}</td>)}
                  <td class="num" data-testid="arm-revenue" data-value={a.revenue}>{fmt.money(a.revenue)}</td>
                  <td class="num" data-testid="arm-open_rate" data-value={rt.open_rate ?? ''}>{fmt.percent(rt.open_rate, 1)}</td>
                  <td class="num" data-testid="arm-click_rate" data-value={rt.click_rate ?? ''}>{fmt.percent(rt.click_rate, 1)}</td>
                  <td class="num" data-testid="arm-conversion_rate" data-value={rt.conversion_rate ?? ''}>{fmt.percent(rt.conversion_rate, 2)}</td>
                </tr>
              );
            })}</tbody>
          </table>
        </div>
        <p class="muted small">{fmt.t('camp.ratesNote')}</p>
        <ul class="plain small">
          <li>{fmt.t('camp.p.waiting')}: <span data-testid="report-waiting" data-value={r.waiting}>{fmt.integer(r.waiting)}</span></li>
          <li>{fmt.t('camp.p.capped')}: <span data-testid="report-capped" data-value={r.capped}>{fmt.integer(r.capped)}</span></li>
          {r.planned > 0 && <li>{fmt.t('camp.r.planned')}: <span data-testid="report-planned" data-value={r.planned}>{fmt.integer(r.planned)}</span></li>}
        </ul>
      </Card>
      <LiftCard lift={r.revenue_lift} kind="revenue" />
    </div>
  );
}

// A lift (recipients minus holdout) with its 95 % interval: the numbers, a sentence that says
// plainly whether it is significant, and the interval drawn against zero.
function LiftCard({ lift, kind }: { lift: CampaignLift | null; kind: 'conversion' | 'revenue' }) {
  const { fmt } = useApp();
  const show = (v: number, sign = true) => {
    const s = kind === 'conversion' ? fmt.t('camp.pp', { n: fmt.number(v * 100, 2) }) : fmt.money(v);
    return sign && v > 0 ? `+${s}` : s;
  };
  const title = fmt.t(kind === 'conversion' ? 'camp.conversionLift' : 'camp.revenueLift');
  return (
    <Card title={title} testid={`report-${kind}-lift`}>
      {!lift ? <p class="muted" data-testid={`${kind}-lift-none`}>{fmt.t('camp.noLift')}</p> : (
        <div class="lift" data-testid={`${kind}-lift`} data-difference={lift.difference} data-low={lift.ci95[0]} data-high={lift.ci95[1]}
          data-p={lift.p_value ?? ''} data-significant={String(lift.significant)}>
          <p class={`lift-verdict ${lift.significant ? (lift.difference > 0 ? 'up' : 'down') : ''}`} data-testid={`${kind}-lift-verdict`}>
            {lift.significant
              ? fmt.t(lift.difference > 0 ? 'camp.liftUp' : 'camp.liftDown', { diff: show(lift.difference) })
              : fmt.t('camp.liftNotSignificant', { diff: show(lift.difference) })}
          </p>
          <LiftBar lift={lift} show={show} />
          <dl class="dl lift-numbers">
            <dt>{fmt.t(kind === 'conversion' ? 'camp.rateRecipients' : 'camp.perMemberRecipients')}</dt>
            <dd data-testid={`${kind}-lift-recipients`} data-value={lift.recipients}>{kind === 'conversion' ? fmt.percent(lift.recipients, 2) : fmt.money(lift.recipients)}</dd>
            <dt>{fmt.t(kind === 'conversion' ? 'camp.rateHoldout' : 'camp.perMemberHoldout')}</dt>
            <dd data-testid={`${kind}-lift-holdout`} data-value={lift.holdout}>{kind === 'conversion' ? fmt.percent(lift.holdout, 2) : fmt.money(lift.holdout)}</dd>
            <dt>{fmt.t('camp.difference')}</dt>
            <dd data-testid={`${kind}-lift-difference`} data-value={lift.difference}>{show(lift.difference)}
              {lift.relative !== null && <span class="muted"> ({lift.relative > 0 ? '+' : ''}{fmt.percent(lift.relative, 1)})</span>}</dd>
            <dt>{fmt.t('camp.ci95')}</dt>
            <dd data-testid={`${kind}-lift-ci`}>{show(lift.ci95[0])} … {show(lift.ci95[1])}</dd>
            <dt>{fmt.t('camp.pValue')}</dt>
            <dd data-testid={`${kind}-lift-p`} data-value={lift.p_value ?? ''}>{pValue(fmt, lift.p_value)}</dd>
          </dl>
        </div>
      )}
    </Card>
  );
}

// A p-value (null when there is nothing to test, e.g. no conversions in either group).
function pValue(fmt: Formatter, p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '—';
  return p < 0.0001 ? fmt.t('camp.pBelow') : fmt.number(p, 4);
}

function LiftBar({ lift, show }: { lift: CampaignLift; show: (v: number, sign?: boolean) => string }) {
  const { fmt } = useApp();
  const [lo, hi] = lift.ci95;
  const m = Math.max(Math.abs(lo), Math.abs(hi), Math.abs(lift.difference)) * 1.15 || 1;
  const x = (v: number) => 50 + (45 * v) / m;
  const cls = lift.significant ? (lift.difference > 0 ? 'ci-up' : 'ci-down') : 'ci-ns';
  return (
    <figure class="lift-figure">
      <svg class="lift-bar" viewBox="0 0 100 24" preserveAspectRatio="none" role="img" data-testid="lift-bar"
        aria-label={fmt.t('camp.liftBarLabel', { diff: show(lift.difference), low: show(lift.ci95[0]), high: show(lift.ci95[1]) })}>
        <line x1="2" x2="98" y1="12" y2="12" class="ci-axis" />
        <rect x={x(lo)} y="6" width={Math.max(0.6, x(hi) - x(lo))} height="12" rx="1" class={`ci-range ${cls}`} />
        <line x1={x(lift.difference)} x2={x(lift.difference)} y1="3" y2="21" class="ci-point" />
        <line x1="50" x2="50" y1="0" y2="24" class="ci-zero" />
      </svg>
      <figcaption class="lift-scale small muted" aria-hidden="true">
        <span>{show(-m)}</span><span>0</span><span>{show(m)}</span>
      </figcaption>
    </figure>
  );
}

function WinnerCard({ r }: { r: CampaignReport }) {
  const { fmt } = useApp();
  const c = r.campaign;
  const metric = fmt.has(`camp.metric.${c.winner_metric}`) ? fmt.t(`camp.metric.${c.winner_metric}` as MessageKey) : c.winner_metric;
  return (
    <Card title={fmt.t('camp.winner')} testid="report-winner">
      {r.variants.length < 2 ? <p class="muted">{fmt.t('camp.noTest')}</p>
        : !r.winner || r.recipients.members === 0 ? <p class="muted" data-testid="winner-none">{fmt.t(c.state === 'testing' ? 'camp.winnerPending' : 'camp.noWinner', { metric, when: fmt.dateTime(c.test_ends_at) })}</p>
          : (
            <div data-testid="winner" data-variant={r.winner.variant} data-p={r.winner.p_value} data-significant={String(r.winner.significant)}>
              <p class="big-sentence">{fmt.t('camp.winnerIs', { v: r.winner.variant, metric })}</p>
              <p class={r.winner.significant ? 'up' : 'muted'}>
                {r.winner.significant ? fmt.t('camp.winnerSignificant', { p: pValue(fmt, r.winner.p_value) }) : fmt.t('camp.winnerNotSignificant', { p: pValue(fmt, r.winner.p_value) })}
              </p>
            </div>
          )}
      <p class="muted small">{fmt.t('camp.testSummary', { test: fmt.number(c.test_percent, 1), holdout: fmt.number(c.holdout_percent, 1), metric })}</p>
    </Card>
  );
}

