import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type MessagingSettings, type Role, type TestSendResult, type Workspace } from '../api';
import { Async, Card, Empty, ErrorBox, PageHeader } from '../components';
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
