import { useState } from 'preact/hooks';
import { api, ApiError, type Session } from '../api';
import { useApp } from '../context';
import type { Locale, MessageKey } from '../i18n';

export function LoginPage({ onLogin }: { onLogin: (s: Session) => void }) {
  const { fmt, setLocale } = useApp();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [workspace, setWorkspace] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, string> = { email, password };
      if (workspace.trim()) body.workspace = workspace.trim();
      onLogin(await api.post<Session>('/api/v1/session', body));
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        setError(err.retryAfter ? fmt.t('login.throttled', { seconds: err.retryAfter }) : fmt.t('login.throttledNoTime'));
      } else setError(err instanceof ApiError ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login" id="main">
      <form class="login-card card" onSubmit={submit} aria-labelledby="login-title" data-testid="login-form">
        <div class="login-brand"><span class="brand-mark" aria-hidden="true">t</span> treu</div>
        <h1 id="login-title">{fmt.t('login.title')}</h1>
        <label class="field">
          <span>{fmt.t('login.email')}</span>
          <input type="email" name="email" autoComplete="username" required value={email}
            onInput={(e) => setEmail(e.currentTarget.value)} data-testid="login-email" />
        </label>
        <label class="field">
          <span>{fmt.t('login.password')}</span>
          <input type="password" name="password" autoComplete="current-password" required value={password}
            onInput={(e) => setPassword(e.currentTarget.value)} data-testid="login-password" />
        </label>
        <label class="field">
          <span>{fmt.t('login.workspace')}</span>
          <input type="text" name="workspace" value={workspace} onInput={(e) => setWorkspace(e.currentTarget.value)} />
        </label>
        {error && <p class="form-error" role="alert" data-testid="login-error">{error}</p>}
        <button type="submit" class="btn btn-primary btn-block" disabled={busy} data-testid="login-submit">
          {busy ? fmt.t('login.busy') : fmt.t('login.submit')}
        </button>
        <div class="login-lang">
          {(['de', 'en'] as Locale[]).map((l) => (
            <button key={l} type="button" lang={l} class={`link-button ${fmt.locale === l ? 'active' : ''}`} aria-pressed={fmt.locale === l}
              onClick={() => setLocale(l)}>{fmt.t(`lang.${l}` as MessageKey)}</button>
          ))}
        </div>
      </form>
    </main>
  );
}
