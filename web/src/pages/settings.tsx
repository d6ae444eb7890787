import { useEffect, useState } from 'preact/hooks';
import { api, type Role, type Workspace } from '../api';
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
