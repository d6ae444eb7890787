import { useEffect, useState } from 'preact/hooks';
import {
  api, ApiError, WEBHOOK_FORMATS, type ChannelSettings, type IdentitySecret, type MessagingSettings, type Role, type TestSendResult,
  type WebhookEndpoint, type WebhookTestResult, type Workspace,
} from '../api';
import { Async, Card, CopyField, Empty, ErrorBox, PageHeader } from '../components';
import { useApp } from '../context';
import { useApi } from '../hooks';
import type { MessageKey } from '../i18n';

interface Key { id: number | string; name?: string | null; scope: string; prefix?: string; rate_per_minute?: number | null; created_at?: string; revoked_at?: string | null; last_used_at?: string | null }
interface User { id: number | string; email: string; name: string; role: Role; locale?: string; created_at?: string }
type List<T> = { data: T[] } | T[];
const items = <T,>(l: List<T>): T[] => (Array.isArray(l) ? l : l.data);

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'JPY', 'CAD', 'AUD'];
const ZONES = ['UTC', 'Europe/Berlin', 'Europe/Vienna', 'Europe/Zurich', 'Europe/London', 'Europe/Paris', 'Europe/Amsterdam', 'Europe/Madrid',
  'Europe/Rome', 'Europe/Stockholm', 'Europe/Warsaw', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Asia/Tokyo', 'Australia/Sydney'];

export function SettingsPage() {
  const { fmt, isAdmin } = useApp();
  const ws = useApi<Workspace>('/api/v1/workspace');
  return (
    <>
      <PageHeader title={fmt.t('settings.title')} />
      <Async value={ws}>{(w) => <WorkspaceForm ws={w} onSaved={ws.reload} />}</Async>
      <SendingCard />
      <ChannelsCard />
      {isAdmin ? (<><KeysCard /><UsersCard /></>) : <p class="notice">{fmt.t('settings.adminOnly')}</p>}
    </>
  );
}

function WorkspaceForm({ ws, onSaved }: { ws: Workspace; onSaved: () => void }) {
  const { fmt, isAdmin, reloadWorkspace } = useApp();
  const initial = () => ({
    currency: ws.currency, time_zone: ws.time_zone, retention_basis: ws.retention_basis,
    activity_window: typeof ws.activity_window === 'string' ? ws.activity_window : `${ws.activity_window_days ?? ws.activity_window ?? 365}d`,
    purchase_model: ws.purchase_model, brand_colour: ws.brand_colour || '#3b4fd8',
  });
  const [form, setForm] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setForm(initial()), [ws]);
  const set = (k: keyof ReturnType<typeof initial>) => (e: Event) => { setSaved(false); setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value }); };
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(null); setSaved(false);
    // Only what changed: an untouched colour picker must not set a brand colour.
    const before = initial();
    const changed = Object.fromEntries(Object.entries(form).filter(([k, v]) => before[k as keyof typeof before] !== v));
    try {
      if (Object.keys(changed).length > 0) await api.patch('/api/v1/workspace', changed);
      setSaved(true); reloadWorkspace(); onSaved();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  const ro = !isAdmin;
  const zones = ZONES.includes(form.time_zone) ? ZONES : [form.time_zone, ...ZONES];
  const currencies = CURRENCIES.includes(form.currency) ? CURRENCIES : [form.currency, ...CURRENCIES];
  return (
    <Card title={`${fmt.t('settings.workspace')}: ${ws.name}`} testid="settings-workspace">
      {ro && <p class="muted">{fmt.t('common.readOnly')}</p>}
      <form class="form-grid" onSubmit={submit}>
        <label class="field"><span>{fmt.t('settings.currency')}</span>
          <select value={form.currency} onChange={set('currency')} disabled={ro}>{currencies.map((c) => <option key={c}>{c}</option>)}</select></label>
        <label class="field"><span>{fmt.t('settings.timeZone')}</span>
          <select value={form.time_zone} onChange={set('time_zone')} disabled={ro}>{zones.map((z) => <option key={z}>{z}</option>)}</select></label>
        <label class="field"><span>{fmt.t('settings.basis')}</span>
          <select value={form.retention_basis} onChange={set('retention_basis')} disabled={ro}>
            {['purchases', 'subscriptions', 'both'].map((b) => <option key={b} value={b}>{fmt.t(`settings.basis.${b}` as MessageKey)}</option>)}
          </select></label>
        <label class="field"><span>{fmt.t('settings.window')}</span>
          <input type="text" value={form.activity_window} onInput={set('activity_window')} disabled={ro} pattern="\d+(d|w|mo|y)" /></label>
        <label class="field"><span>{fmt.t('settings.model')}</span>
          <select value={form.purchase_model} onChange={set('purchase_model')} disabled={ro}>
            {['pareto_nbd', 'bgnbd', 'mbgnbd'].map((m) => <option key={m}>{m}</option>)}
          </select></label>
        <label class="field"><span>{fmt.t('settings.colour')}</span>
          <input type="color" value={form.brand_colour} onInput={set('brand_colour')} disabled={ro} /></label>
        {error !== null && <div class="span-all"><ErrorBox error={error} /></div>}
        {isAdmin && (
          <div class="form-actions span-all">
            <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? fmt.t('common.saving') : fmt.t('common.save')}</button>
            {saved && <span role="status" class="ok">{fmt.t('common.saved')}</span>}
          </div>
        )}
      </form>
    </Card>
  );
}

function KeysCard() {
  const { fmt } = useApp();
  const keys = useApi<List<Key>>('/api/v1/keys');
  const [name, setName] = useState('');
  const [scope, setScope] = useState('read');
  const [rate, setRate] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (e: Event) => {
    e.preventDefault(); setError(null); setCreated(null);
    try {
      const body: Record<string, unknown> = { name, scope };
      if (rate) body.rate_per_minute = Number(rate);
      const r = await api.post<{ key: string }>('/api/v1/keys', body);
      setCreated(r.key); setName(''); setRate(''); keys.reload();
    } catch (err) { setError(err); }
  };
  const revoke = async (k: Key) => {
    if (!window.confirm(fmt.t('settings.confirmRevoke', { name: k.name || k.prefix || String(k.id) }))) return;
    try { await api.del(`/api/v1/keys/${encodeURIComponent(String(k.id))}`); keys.reload(); } catch (err) { setError(err); }
  };
  return (
    <Card title={fmt.t('settings.keys')} testid="settings-keys">
      <Async value={keys}>{(l) => items(l).length === 0 ? <Empty>{fmt.t('settings.noKeys')}</Empty> : (
        <div class="table-wrap" tabIndex={0}>
          <table class="table">
            <thead><tr><th scope="col">{fmt.t('settings.keyName')}</th><th scope="col">{fmt.t('settings.keyPrefix')}</th><th scope="col">{fmt.t('settings.keyScope')}</th>
              <th scope="col" class="num">{fmt.t('settings.keyRate')}</th><th scope="col">{fmt.t('settings.keyCreated')}</th><th scope="col"><span class="sr-only">{fmt.t('settings.revoke')}</span></th></tr></thead>
            <tbody>{items(l).map((k) => (
              <tr key={k.id} data-testid="key-row" class={k.revoked_at ? 'inactive' : ''}>
                <th scope="row">{k.name || '—'}</th><td><code>{k.prefix ?? ''}</code></td><td>{k.scope}</td>
                <td class="num">{k.rate_per_minute ? fmt.integer(k.rate_per_minute) : '—'}</td><td>{fmt.date(k.created_at)}</td>
                <td>{!k.revoked_at && <button type="button" class="btn btn-small btn-danger" onClick={() => void revoke(k)}>{fmt.t('settings.revoke')}</button>}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</Async>
      <form class="inline-form" onSubmit={create}>
        <label class="field"><span>{fmt.t('settings.keyName')}</span><input type="text" required value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <label class="field"><span>{fmt.t('settings.keyScope')}</span>
          <select value={scope} onChange={(e) => setScope(e.currentTarget.value)}>{['tracking', 'read', 'write', 'admin'].map((s) => <option key={s}>{s}</option>)}</select></label>
        <label class="field"><span>{fmt.t('settings.keyRate')}</span><input type="number" min={1} value={rate} onInput={(e) => setRate(e.currentTarget.value)} /></label>
        <button type="submit" class="btn btn-primary">{fmt.t('settings.keyCreate')}</button>
      </form>
      {created && <div class="notice" role="status" data-testid="key-created"><p>{fmt.t('settings.keyOnce')}</p><pre class="code select-all">{created}</pre></div>}
      {error !== null && <ErrorBox error={error} />}
    </Card>
  );
}

function UsersCard() {
  const { fmt, user: me } = useApp();
  const users = useApi<List<User>>('/api/v1/users');
  const [form, setForm] = useState({ email: '', name: '', role: 'viewer' as Role, password: '', locale: fmt.locale as string });
  const [error, setError] = useState<unknown>(null);
  const create = async (e: Event) => {
    e.preventDefault(); setError(null);
    try { await api.post('/api/v1/users', form); setForm({ ...form, email: '', name: '', password: '' }); users.reload(); } catch (err) { setError(err); }
  };
  const changeRole = async (u: User, role: Role) => {
    setError(null);
    try { await api.patch(`/api/v1/users/${encodeURIComponent(String(u.id))}`, { role }); users.reload(); } catch (err) { setError(err); }
  };
  const remove = async (u: User) => {
    if (!window.confirm(fmt.t('common.confirmDelete', { name: u.email }))) return;
    try { await api.del(`/api/v1/users/${encodeURIComponent(String(u.id))}`); users.reload(); } catch (err) { setError(err); }
  };
  const roles: Role[] = ['admin', 'marketer', 'viewer'];
  return (
    <Card title={fmt.t('settings.users')} testid="settings-users">
      <Async value={users}>{(l) => items(l).length === 0 ? <Empty>{fmt.t('settings.noUsers')}</Empty> : (
        <div class="table-wrap" tabIndex={0}>
          <table class="table">
            <thead><tr><th scope="col">{fmt.t('common.name')}</th><th scope="col">{fmt.t('common.email')}</th><th scope="col">{fmt.t('settings.role')}</th>
              <th scope="col"><span class="sr-only">{fmt.t('common.delete')}</span></th></tr></thead>
            <tbody>{items(l).map((u) => (
              <tr key={u.id} data-testid="user-row">
                <th scope="row">{u.name || '—'}</th><td class="break">{u.email}</td>
                <td><select aria-label={`${fmt.t('settings.role')}: ${u.email}`} value={u.role} disabled={me?.id === u.id}
                  onChange={(e) => void changeRole(u, e.currentTarget.value as Role)}>
                  {roles.map((r) => <option key={r} value={r}>{fmt.t(`user.role.${r}` as MessageKey)}</option>)}
                </select></td>
                <td>{me?.id !== u.id && <button type="button" class="btn btn-small btn-danger" onClick={() => void remove(u)}>{fmt.t('common.delete')}</button>}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</Async>
      <form class="inline-form" onSubmit={create}>
        <label class="field"><span>{fmt.t('common.email')}</span><input type="email" required value={form.email} onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} /></label>
        <label class="field"><span>{fmt.t('common.name')}</span><input type="text" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} /></label>
        <label class="field"><span>{fmt.t('settings.role')}</span>
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value as Role })}>
            {roles.map((r) => <option key={r} value={r}>{fmt.t(`user.role.${r}` as MessageKey)}</option>)}</select></label>
        <label class="field"><span>{fmt.t('settings.password')}</span><input type="password" autoComplete="new-password" required minLength={8} value={form.password} onInput={(e) => setForm({ ...form, password: e.currentTarget.value })} /></label>
        <label class="field"><span>{fmt.t('settings.locale')}</span>
          <select value={form.locale} onChange={(e) => setForm({ ...form, locale: e.currentTarget.value })}>
            <option value="de">{fmt.t('lang.de')}</option><option value="en">{fmt.t('lang.en')}</option></select></label>
        <button type="submit" class="btn btn-primary">{fmt.t('settings.userCreate')}</button>
      </form>
      {error !== null && <ErrorBox error={error} />}
    </Card>
  );
}

// The workspace's sending settings (docs/messaging.md). Admins change them; the SMTP password
// and the DKIM key are write-only: the API says only whether they are set.
type SendingForm = {
  from_name: string; from_address: string; reply_to: string; transport: string; smtp_url: string; smtp_tls: string;
  smtp_username: string; dkim_domain: string; dkim_selector: string; public_url: string; track_engagement: boolean; max_attempts: string;
};

function SendingCard() {
  const { fmt, isAdmin } = useApp();
  const settings = useApi<MessagingSettings>('/api/v1/messaging/settings');
  return (
    <Card title={fmt.t('sending.title')} testid="settings-sending">
      <Async value={settings}>{(s) => <SendingFormView s={s} onSaved={settings.reload} />}</Async>
      {isAdmin && <TestSend />}
    </Card>
  );
}

function SendingFormView({ s, onSaved }: { s: MessagingSettings; onSaved: () => void }) {
  const { fmt, isAdmin } = useApp();
  const initial = (): SendingForm => ({
    from_name: s.from_name, from_address: s.from_address, reply_to: s.reply_to, transport: s.transport, smtp_url: s.smtp_url,
    smtp_tls: s.smtp_tls || 'starttls', smtp_username: s.smtp_username, dkim_domain: s.dkim_domain, dkim_selector: s.dkim_selector,
    public_url: s.public_url, track_engagement: s.track_engagement, max_attempts: String(s.max_attempts),
  });
  const [form, setForm] = useState(initial);
  const [password, setPassword] = useState('');
  const [dkimKey, setDkimKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setForm(initial()), [s]);
  const set = (k: keyof SendingForm) => (e: Event) => {
    setSaved(false);
    const el = e.currentTarget as HTMLInputElement;
    setForm({ ...form, [k]: el.type === 'checkbox' ? el.checked : el.value });
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(null); setSaved(false);
    const before = initial();
    const changed: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(form)) if (before[k as keyof SendingForm] !== v) changed[k] = k === 'max_attempts' ? Number(v) : v;
    if (password) changed.smtp_password = password;
    if (dkimKey) changed.dkim_private_key = dkimKey;
    try {
      if (Object.keys(changed).length > 0) await api.patch('/api/v1/messaging/settings', changed);
      setPassword(''); setDkimKey(''); setSaved(true); onSaved();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  const ro = !isAdmin;
  const smtp = form.transport === 'smtp';
  const secretHint = (isSet: boolean) => isSet ? fmt.t('sending.secretSet') : fmt.t('sending.secretUnset');
  return (
    <>
      {ro && <p class="muted">{fmt.t('common.readOnly')}</p>}
      <form class="form-grid" onSubmit={submit} aria-label={fmt.t('sending.title')} data-testid="sending-form">
        <label class="field"><span>{fmt.t('sending.fromName')}</span>
          <input type="text" value={form.from_name} onInput={set('from_name')} disabled={ro} /></label>
        <label class="field"><span>{fmt.t('sending.fromAddress')}</span>
          <input type="email" value={form.from_address} onInput={set('from_address')} disabled={ro} data-testid="sending-from" /></label>
        <label class="field"><span>{fmt.t('sending.replyTo')}</span>
          <input type="email" value={form.reply_to} onInput={set('reply_to')} disabled={ro} /></label>
        <label class="field"><span>{fmt.t('sending.transport')}</span>
          <select value={form.transport} onChange={set('transport')} disabled={ro} data-testid="sending-transport" aria-describedby="sending-transport-hint">
            <option value="file">{fmt.t('sending.transport.file')}</option>
            <option value="smtp">{fmt.t('sending.transport.smtp')}</option>
          </select>
          <small id="sending-transport-hint" class="muted">{fmt.t(smtp ? 'sending.smtpHint' : 'sending.fileHint')}</small></label>
        <label class="field"><span>{fmt.t('sending.smtpUrl')}</span>
          <input type="text" value={form.smtp_url} onInput={set('smtp_url')} disabled={ro || !smtp} placeholder="smtp://mail.example:587" /></label>
        <label class="field"><span>{fmt.t('sending.smtpTls')}</span>
          <select value={form.smtp_tls} onChange={set('smtp_tls')} disabled={ro || !smtp}>
            <option value="starttls">STARTTLS</option><option value="tls">TLS</option><option value="none">{fmt.t('sending.tlsNone')}</option>
          </select></label>
        <label class="field"><span>{fmt.t('sending.smtpUser')}</span>
          <input type="text" autoComplete="off" value={form.smtp_username} onInput={set('smtp_username')} disabled={ro || !smtp} /></label>
        <label class="field"><span>{fmt.t('sending.smtpPassword')}</span>
          <input type="password" autoComplete="new-password" value={password} onInput={(e) => { setSaved(false); setPassword(e.currentTarget.value); }}
            disabled={ro || !smtp} aria-describedby="sending-pw-hint" data-testid="sending-password" />
          <small id="sending-pw-hint" class="muted" data-testid="sending-password-set" data-value={String(s.smtp_password_set)}>{secretHint(s.smtp_password_set)}</small></label>
        <label class="field"><span>{fmt.t('sending.publicUrl')}</span>
          <input type="url" value={form.public_url} onInput={set('public_url')} disabled={ro} aria-describedby="sending-url-hint" />
          <small id="sending-url-hint" class="muted">{fmt.t('sending.publicUrlHint')}</small></label>
        <label class="field"><span>{fmt.t('sending.dkimDomain')}</span>
          <input type="text" value={form.dkim_domain} onInput={set('dkim_domain')} disabled={ro} /></label>
        <label class="field"><span>{fmt.t('sending.dkimSelector')}</span>
          <input type="text" value={form.dkim_selector} onInput={set('dkim_selector')} disabled={ro} /></label>
        <label class="field"><span>{fmt.t('sending.dkimKey')}</span>
          <textarea rows={2} class="code" autoComplete="off" spellcheck={false} value={dkimKey} onInput={(e) => { setSaved(false); setDkimKey(e.currentTarget.value); }}
            disabled={ro} aria-describedby="sending-dkim-hint" placeholder="-----BEGIN PRIVATE KEY-----" />
          <small id="sending-dkim-hint" class="muted">{secretHint(s.dkim_key_set)}</small></label>
        <label class="field"><span>{fmt.t('sending.maxAttempts')}</span>
          <input type="number" min={1} max={50} step={1} value={form.max_attempts} onInput={set('max_attempts')} disabled={ro} /></label>
        <label class="field check-field">
          <input type="checkbox" checked={form.track_engagement} onChange={set('track_engagement')} disabled={ro} />
          <span>{fmt.t('sending.tracking')}</span></label>
        {error !== null && <div class="span-all"><ErrorBox error={error} /></div>}
        {isAdmin && (
          <div class="form-actions span-all">
            <button type="submit" class="btn btn-primary" disabled={busy} data-testid="sending-save">{busy ? fmt.t('common.saving') : fmt.t('common.save')}</button>
            {saved && <span role="status" class="ok">{fmt.t('common.saved')}</span>}
          </div>
        )}
      </form>
    </>
  );
}

function TestSend() {
  const { fmt, user } = useApp();
  const [to, setTo] = useState(user?.email ?? '');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TestSendResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setResult(null); setError(null);
    try { setResult(await api.post<TestSendResult>('/api/v1/messaging/settings/test', { to: to.trim() })); }
    catch (err) { setError(err); } finally { setBusy(false); }
  };
  const failed = error instanceof ApiError && error.status === 502;
  return (
    <>
      <form class="inline-form" onSubmit={submit} aria-label={fmt.t('sending.test')}>
        <label class="field"><span>{fmt.t('sending.testTo')}</span>
          <input type="email" required value={to} onInput={(e) => setTo(e.currentTarget.value)} data-testid="sending-test-to" /></label>
        <button type="submit" class="btn" disabled={busy} data-testid="sending-test">{busy ? fmt.t('send.sending') : fmt.t('sending.test')}</button>
      </form>
      {result && (
        <p class="notice" role="status" data-testid="sending-test-result" data-outcome={result.outcome}>
          <span class="ok">✓ {fmt.t('sending.testSent')}</span>{result.smtp_code ? ` · SMTP ${result.smtp_code}` : ''}
          {result.detail ? ` · ${result.detail}` : ''}{result.message_id ? <><br /><code class="break">{result.message_id}</code></> : null}
        </p>
      )}
      {error !== null && (failed
        ? <div class="state state-error" role="alert" data-testid="sending-test-result" data-outcome="failed"><strong>{fmt.t('sending.testFailed')}</strong><p class="error-detail">{(error as ApiError).detail}</p></div>
        : <ErrorBox error={error} />)}
    </>
  );
}

// The channels besides email (docs/messaging.md): web push (the VAPID keys browsers subscribe
// with), identity verification of the JavaScript snippet's users (in-app and push), and the
// webhook endpoints. Everyone sees them; admins change them. Secrets are shown once, when made.
function ChannelsCard() {
  const { fmt, isAdmin } = useApp();
  const settings = useApi<ChannelSettings>('/api/v1/channels/settings');
  return (
    <Card title={fmt.t('channels.title')} testid="settings-channels">
      {!isAdmin && <p class="muted">{fmt.t('common.readOnly')}</p>}
      <Async value={settings}>{(s) => (
        <>
          <PushSettings s={s} onSaved={settings.reload} />
          <IdentitySettings s={s} onSaved={settings.reload} />
        </>
      )}</Async>
      <WebhookEndpoints />
    </Card>
  );
}

function PushSettings({ s, onSaved }: { s: ChannelSettings; onSaved: () => void }) {
  const { fmt, isAdmin } = useApp();
  const [subject, setSubject] = useState(s.vapid_subject);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<'saved' | 'keys' | null>(null);
  useEffect(() => setSubject(s.vapid_subject), [s]);
  const save = async (newKeys: boolean) => {
    if (newKeys && !window.confirm(fmt.t('channels.newKeysConfirm'))) return;
    setBusy(true); setError(null); setDone(null);
    try {
      await api.patch<ChannelSettings>('/api/v1/channels/settings', { vapid_subject: subject.trim(), new_vapid_keys: newKeys });
      setDone(newKeys ? 'keys' : 'saved'); onSaved();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <section class="settings-section" aria-labelledby="ch-push-h" data-testid="channels-push">
      <h3 id="ch-push-h">{fmt.t('channels.push')}</h3>
      <p data-testid="push-ready" data-value={String(s.push_ready)}>
        {s.push_ready ? <span class="ok">✓ {fmt.t('channels.pushReady')}</span> : <span class="muted">{fmt.t('channels.pushNotReady')}</span>}
      </p>
      {s.vapid_public_key && <CopyField label={fmt.t('channels.vapidKey')} value={s.vapid_public_key} testid="vapid-public-key" hint={fmt.t('channels.vapidKeyHint')} />}
      <form class="inline-form" onSubmit={(e) => { e.preventDefault(); void save(false); }} aria-label={fmt.t('channels.push')}>
        <label class="field grow"><span>{fmt.t('channels.vapidSubject')}</span>
          <input type="text" value={subject} onInput={(e) => { setDone(null); setSubject(e.currentTarget.value); }} disabled={!isAdmin} required
            placeholder="mailto:push@shop.example" aria-describedby="ch-subject-hint" data-testid="vapid-subject" />
          <small id="ch-subject-hint" class="muted">{fmt.t('channels.vapidSubjectHint')}</small></label>
        {isAdmin && (
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" disabled={busy} data-testid="vapid-save">
              {busy ? fmt.t('common.saving') : s.push_ready ? fmt.t('common.save') : fmt.t('channels.setUpPush')}</button>
            {s.push_ready && <button type="button" class="btn btn-danger" disabled={busy} onClick={() => void save(true)} data-testid="vapid-new-keys">{fmt.t('channels.newKeys')}</button>}
          </div>
        )}
      </form>
      {done && <p role="status" class="ok" data-testid="vapid-done">{done === 'keys' ? fmt.t('channels.newKeysDone') : fmt.t('common.saved')}</p>}
      {error !== null && <ErrorBox error={error} />}
    </section>
  );
}

// What a backend computes for each signed-in user, in two languages.
const IDENTITY_SNIPPET = `// Node.js
import { createHmac } from 'node:crypto';
const userHash = createHmac('sha256', process.env.TREU_IDENTITY_SECRET)
  .update(String(user.id)).digest('hex');

# Python
import hashlib, hmac, os
user_hash = hmac.new(os.environ['TREU_IDENTITY_SECRET'].encode(),
                     str(user.id).encode(), hashlib.sha256).hexdigest()`;

function IdentitySettings({ s, onSaved }: { s: ChannelSettings; onSaved: () => void }) {
  const { fmt, isAdmin } = useApp();
  const [busy, setBusy] = useState(false);
  const [made, setMade] = useState<{ secret: string; replaced: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const make = async () => {
    if (s.identity_secret_set && !window.confirm(fmt.t('channels.identityConfirm'))) return;
    setBusy(true); setError(null); setMade(null);
    try {
      const r = await api.post<IdentitySecret>('/api/v1/channels/identity-secret', {});
      setMade({ secret: r.identity_secret, replaced: s.identity_secret_set }); onSaved();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <section class="settings-section" aria-labelledby="ch-identity-h" data-testid="channels-identity">
      <h3 id="ch-identity-h">{fmt.t('channels.identity')}</h3>
      <p class="muted small">{fmt.t('channels.identityHint')}</p>
      <p data-testid="identity-secret-set" data-value={String(s.identity_secret_set)}>
        {s.identity_secret_set ? <span class="ok">✓ {fmt.t('channels.identitySet')}</span> : <span class="muted">{fmt.t('channels.identityUnset')}</span>}
      </p>
      {isAdmin && (
        <div class="form-actions">
          <button type="button" class={`btn ${s.identity_secret_set ? 'btn-danger' : 'btn-primary'}`} disabled={busy} onClick={() => void make()} data-testid="identity-secret-new">
            {s.identity_secret_set ? fmt.t('channels.identityNew') : fmt.t('channels.identityMake')}</button>
        </div>
      )}
      {made && (
        <div class="notice" role="status" data-testid="identity-secret-made">
          <p><strong>{fmt.t('channels.secretOnce')}</strong>{made.replaced ? ` ${fmt.t('channels.identityReplaced')}` : ''}</p>
          <CopyField label={fmt.t('channels.identitySecret')} value={made.secret} testid="identity-secret" />
        </div>
      )}
      {error !== null && <ErrorBox error={error} />}
      <details class="table-details" open={made !== null}>
        <summary>{fmt.t('channels.identitySnippet')}</summary>
        <pre class="code snippet" tabIndex={0} data-testid="identity-snippet">{IDENTITY_SNIPPET}</pre>
        <p class="muted small">{fmt.t('channels.identitySnippetHint')}</p>
      </details>
    </section>
  );
}

type EndpointForm = { name: string; url: string; format: string; new_secret: boolean };
const NO_ENDPOINT: EndpointForm = { name: '', url: '', format: 'json', new_secret: false };

function WebhookEndpoints() {
  const { fmt, isAdmin } = useApp();
  const list = useApi<{ data: WebhookEndpoint[] }>('/api/v1/webhook-endpoints');
  const [form, setForm] = useState<EndpointForm>(NO_ENDPOINT);
  const [editing, setEditing] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [testing, setTesting] = useState<string | null>(null);
  const [tested, setTested] = useState<(WebhookTestResult & { name: string }) | null>(null);
  const field = (k: keyof EndpointForm) => (e: Event) => {
    const el = e.currentTarget as HTMLInputElement;
    setForm({ ...form, [k]: el.type === 'checkbox' ? el.checked : el.value });
  };
  const edit = (x: WebhookEndpoint) => { setEditing(x.name); setForm({ name: x.name, url: x.url, format: x.format, new_secret: false }); setError(null); setSecret(null); };
  const cancel = () => { setEditing(null); setForm(NO_ENDPOINT); setError(null); };
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(null); setSecret(null);
    const name = form.name.trim();
    try {
      const saved = await api.put<WebhookEndpoint>(`/api/v1/webhook-endpoints/${encodeURIComponent(name)}`,
        { url: form.url.trim(), format: form.format, new_secret: form.new_secret });
      if (saved.secret) setSecret({ name: saved.name, secret: saved.secret });
      setEditing(null); setForm(NO_ENDPOINT); list.reload();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  const remove = async (x: WebhookEndpoint) => {
    if (!window.confirm(fmt.t('channels.endpointDeleteConfirm', { name: x.name }))) return;
    setError(null);
    try {
      await api.del(`/api/v1/webhook-endpoints/${encodeURIComponent(x.name)}`);
      if (editing === x.name) cancel();
      if (tested?.name === x.name) setTested(null);
      list.reload();
    } catch (err) { setError(err); }
  };
  const test = async (x: WebhookEndpoint) => {
    setTesting(x.name); setTested(null); setError(null);
    try {
      const r = await api.post<WebhookTestResult>(`/api/v1/webhook-endpoints/${encodeURIComponent(x.name)}/test`, {});
      setTested({ ...r, name: x.name });
    } catch (err) {
      // 502: the endpoint was reached (or not) and did not accept the message; the detail says why.
      if (err instanceof ApiError && err.status === 502) setTested({ ok: false, detail: err.detail, name: x.name });
      else setError(err);
    } finally { setTesting(null); }
  };
  return (
    <section class="settings-section" aria-labelledby="ch-webhooks-h" data-testid="channels-webhooks">
      <h3 id="ch-webhooks-h">{fmt.t('channels.webhooks')}</h3>
      <p class="muted small">{fmt.t('channels.webhooksHint')}</p>
      <Async value={list}>{(l) => l.data.length === 0 ? <Empty>{fmt.t('channels.noEndpoints')}</Empty> : (
        <div class="table-wrap" tabIndex={0}>
          <table class="table" data-testid="webhook-table">
            <thead><tr>
              <th scope="col">{fmt.t('common.name')}</th><th scope="col">{fmt.t('channels.endpointUrl')}</th>
              <th scope="col">{fmt.t('channels.endpointFormat')}</th><th scope="col" class="hide-sm">{fmt.t('tpl.updated')}</th>
              {isAdmin && <th scope="col"><span class="sr-only">{fmt.t('channels.endpointActions')}</span></th>}
            </tr></thead>
            <tbody>{l.data.map((x) => (
              <tr key={x.name} data-testid="webhook-row" data-name={x.name}>
                <th scope="row">{x.name}</th>
                <td class="break-words small"><code>{x.url}</code></td>
                <td>{fmt.t(`channels.format.${x.format}` as MessageKey)}</td>
                <td class="hide-sm nowrap">{fmt.dateTime(x.updated_at)}</td>
                {isAdmin && (
                  <td><div class="row-actions">
                    <button type="button" class="btn btn-small" disabled={testing !== null} onClick={() => void test(x)}
                      aria-label={`${fmt.t('channels.endpointTest')}: ${x.name}`} data-testid="webhook-test">
                      {testing === x.name ? fmt.t('send.sending') : fmt.t('channels.endpointTest')}</button>
                    <button type="button" class="btn btn-small" onClick={() => edit(x)} aria-label={`${fmt.t('common.edit')}: ${x.name}`} data-testid="webhook-edit">{fmt.t('common.edit')}</button>
                    <button type="button" class="btn btn-small btn-danger" onClick={() => void remove(x)} aria-label={`${fmt.t('common.delete')}: ${x.name}`} data-testid="webhook-delete">{fmt.t('common.delete')}</button>
                  </div></td>
                )}
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</Async>
      {tested && (
        <p class={`notice ${tested.ok ? 'notice-ok' : 'notice-error'}`} role="status" data-testid="webhook-test-result" data-ok={String(tested.ok)} data-name={tested.name}>
          {tested.ok ? <span class="ok">✓ {fmt.t('channels.endpointTestOk', { name: tested.name })}</span>
            : <strong class="fail">{fmt.t('channels.endpointTestFailed', { name: tested.name })}</strong>}
          {tested.detail ? <><br /><span class="break-words small" data-testid="webhook-test-detail">{tested.detail}</span></> : null}
        </p>
      )}
      {isAdmin && (
        <form class="inline-form" onSubmit={save} aria-label={editing ? `${fmt.t('common.edit')}: ${editing}` : fmt.t('channels.endpointAdd')} data-testid="webhook-form">
          <label class="field"><span>{fmt.t('common.name')}</span>
            <input type="text" required pattern="[A-Za-z0-9_.\-]{1,64}" value={form.name} onInput={field('name')} disabled={editing !== null} data-testid="webhook-name" /></label>
          <label class="field grow"><span>{fmt.t('channels.endpointUrl')}</span>
            <input type="url" required value={form.url} onInput={field('url')} placeholder="https://hooks.example/treu" data-testid="webhook-url" /></label>
          <label class="field"><span>{fmt.t('channels.endpointFormat')}</span>
            <select value={form.format} onChange={field('format')} data-testid="webhook-format">
              {WEBHOOK_FORMATS.map((f) => <option key={f} value={f}>{fmt.t(`channels.format.${f}` as MessageKey)}</option>)}
            </select></label>
          {editing && (
            <label class="field check-field"><input type="checkbox" checked={form.new_secret} onChange={field('new_secret')} data-testid="webhook-new-secret" />
              <span>{fmt.t('channels.endpointNewSecret')}</span></label>
          )}
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" disabled={busy} data-testid="webhook-save">
              {busy ? fmt.t('common.saving') : editing ? fmt.t('common.save') : fmt.t('channels.endpointAdd')}</button>
            {editing && <button type="button" class="btn" onClick={cancel}>{fmt.t('common.cancel')}</button>}
          </div>
        </form>
      )}
      {secret && (
        <div class="notice" role="status" data-testid="webhook-secret-made">
          <p><strong>{fmt.t('channels.secretOnce')}</strong> {fmt.t('channels.endpointSecretHint', { name: secret.name })}</p>
          <CopyField label={fmt.t('channels.endpointSecret')} value={secret.secret} testid="webhook-secret" />
        </div>
      )}
      {error !== null && <ErrorBox error={error} />}
    </section>
  );
}
