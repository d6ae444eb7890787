import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, onUnauthorized, setCsrfToken, type Session, type SessionUser, type Workspace } from './api';
import { AppContext, useApp, type AppState } from './context';
import { makeFormatter, normalizeLocale, type Locale, type MessageKey } from './i18n';
import { href, useRoute } from './router';
import { ErrorBox, Loading } from './components';
import { LoginPage } from './pages/login';
import { OverviewPage } from './pages/overview';
import { CohortsPage } from './pages/cohorts';
import { RevenuePage } from './pages/revenue';
import { CustomersPage, CustomerPage } from './pages/customers';
import { SegmentsPage, SegmentEditorPage } from './pages/segments';
import { PredictionsPage } from './pages/predictions';
import { SurveysPage } from './pages/surveys';
import { LoyaltyPage } from './pages/loyalty';
import { SettingsPage } from './pages/settings';
import { TemplatesPage, TemplateEditorPage } from './pages/templates';
import { MessagesPage, MessageDetailPage } from './pages/messages';
import { CampaignsPage, CampaignEditorPage, CampaignReportPage } from './pages/campaigns';
import { CalendarPage } from './pages/calendar';
import { JourneysPage, JourneyPage, JourneyEditorPage } from './pages/journeys';

type Auth =
  | { state: 'checking' }
  | { state: 'anonymous' }
  | { state: 'failed'; error: unknown }
  | { state: 'session'; user: SessionUser };

const LOCALE_KEY = 'treu.locale';

function initialLocale(): Locale {
  try { const s = localStorage.getItem(LOCALE_KEY); if (s) return normalizeLocale(s); } catch { /* storage blocked */ }
  return normalizeLocale(navigator.language);
}

const NAV: { path: string; key: MessageKey; icon: string; also?: string[] }[] = [
  { path: '/', key: 'nav.overview', icon: '◎' },
  { path: '/cohorts', key: 'nav.cohorts', icon: '▦' },
  { path: '/revenue', key: 'nav.revenue', icon: '↗' },
  { path: '/customers', key: 'nav.customers', icon: '☺' },
  { path: '/segments', key: 'nav.segments', icon: '◔' },
  { path: '/templates', key: 'nav.templates', icon: '✉' },
  { path: '/messages', key: 'nav.messages', icon: '⇄' },
  { path: '/campaigns', key: 'nav.campaigns', icon: '➚', also: ['calendar'] },
  { path: '/journeys', key: 'nav.journeys', icon: '⤳' },
  { path: '/predictions', key: 'nav.predictions', icon: '∿' },
  { path: '/surveys', key: 'nav.surveys', icon: '✎' },
  { path: '/loyalty', key: 'nav.loyalty', icon: '★' },
  { path: '/settings', key: 'nav.settings', icon: '⚙' },
];

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [wsTick, setWsTick] = useState(0);

  const adoptSession = useCallback((s: Session) => {
    setCsrfToken(s.csrf_token ?? '');
    if (s.user?.locale) setLocaleState(normalizeLocale(s.user.locale));
    setAuth({ state: 'session', user: s.user });
  }, []);

  const check = useCallback(async () => {
    try {
      adoptSession(await api.get<Session>('/api/v1/session'));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { setAuth({ state: 'anonymous' }); return; }
      setAuth({ state: 'failed', error: e });
    }
  }, [adoptSession]);

  useEffect(() => { void check(); }, [check]);
  useEffect(() => {
    onUnauthorized(() => setAuth((a) => (a.state === 'session' ? { state: 'anonymous' } : a)));
    return () => onUnauthorized(null);
  }, []);

  const signedIn = auth.state === 'session';
  useEffect(() => {
    if (!signedIn) return;
    api.get<Workspace>('/api/v1/workspace').then(setWorkspace, () => setWorkspace(null));
  }, [signedIn, wsTick]);

  useEffect(() => { document.documentElement.lang = locale; }, [locale]);
  useEffect(() => {
    const c = workspace?.brand_colour;
    if (c && /^#[0-9a-fA-F]{6}$/.test(c)) document.documentElement.style.setProperty('--brand-mark', c);
  }, [workspace?.brand_colour]);

  const user = auth.state === 'session' ? auth.user : null;
  const fmt = useMemo(() => makeFormatter(locale, workspace?.currency ?? 'EUR', workspace?.time_zone ?? 'UTC'),
    [locale, workspace?.currency, workspace?.time_zone]);

  const setLocale = useCallback((l: Locale) => {
    setLocaleState(l);
    try { localStorage.setItem(LOCALE_KEY, l); } catch { /* storage blocked */ }
    if (auth.state === 'session') {
      api.patch<unknown>('/api/v1/session', { locale: l }).catch(() => { /* kept locally */ });
      setAuth({ state: 'session', user: { ...auth.user, locale: l } });
    }
  }, [auth]);

  const logout = useCallback(() => {
    api.del<void>('/api/v1/session').catch(() => {}).finally(() => {
      setCsrfToken('');
      setWorkspace(null);
      setAuth({ state: 'anonymous' });
    });
  }, []);

  const role = user?.role ?? 'viewer';
  const state: AppState = {
    fmt, user, workspace, setLocale, logout,
    canWrite: role === 'admin' || role === 'marketer',
    isAdmin: role === 'admin',
    reloadWorkspace: () => setWsTick((n) => n + 1),
  };

  return (
    <AppContext.Provider value={state}>
      {auth.state === 'checking' && <div class="boot"><Loading /></div>}
      {auth.state === 'failed' && <div class="boot"><ErrorBox error={auth.error} onRetry={() => void check()} /></div>}
      {auth.state === 'anonymous' && <LoginPage onLogin={adoptSession} />}
      {signedIn && <Shell />}
    </AppContext.Provider>
  );
}

function Shell() {
  const { fmt, user, workspace, setLocale, logout } = useApp();
  const route = useRoute();
  const [navOpen, setNavOpen] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const menuRef = useRef<HTMLDivElement>(null);
  const firstRoute = useRef(true);
  useEffect(() => {
    setNavOpen(false); setMenuOpen(false); window.scrollTo(0, 0);
    // After a navigation (not the first page), screen readers start at the new page's heading.
    if (firstRoute.current) { firstRoute.current = false; return; }
    const id = window.setTimeout(() => document.getElementById('page-title')?.focus({ preventScroll: true }), 0);
    return () => window.clearTimeout(id);
  }, [route.path]);
  useEffect(() => {
    if (!menuOpen) return;
    const close = (e: Event) => { if (menuRef.current && !menuRef.current.contains(e.target as Node)) setMenuOpen(false); };
    const esc = (e: KeyboardEvent) => { if (e.key === 'Escape') setMenuOpen(false); };
    document.addEventListener('click', close);
    document.addEventListener('keydown', esc);
    return () => { document.removeEventListener('click', close); document.removeEventListener('keydown', esc); };
  }, [menuOpen]);

  const section = route.parts[0] ?? '';
  const active = (n: { path: string; also?: string[] }) => (n.path === '/' ? section === '' : section === n.path.slice(1) || (n.also ?? []).includes(section));

  return (
    <div class={`shell ${navOpen ? 'nav-open' : ''}`}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>{fmt.t('app.skip')}</a>
      <header class="topbar">
        <button type="button" class="nav-toggle" aria-expanded={navOpen} aria-controls="sidenav" onClick={() => setNavOpen(!navOpen)}>
          <span aria-hidden="true">☰</span><span class="sr-only">{fmt.t('nav.toggle')}</span>
        </button>
        <a class="brand" href="#/"><span class="brand-mark" aria-hidden="true">t</span><span>treu</span></a>
        <span class="workspace-name" data-testid="workspace-name">{workspace?.name ?? user?.workspace ?? ''}</span>
        <div class="spacer" />
        <div class="user-menu" ref={menuRef}>
          <button type="button" class="user-button" aria-haspopup="true" aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)} data-testid="user-menu">
            <span class="avatar" aria-hidden="true">{(user?.name || user?.email || '?').slice(0, 1).toUpperCase()}</span>
            <span class="user-name">{user?.name || user?.email || fmt.t('user.menu')}</span>
          </button>
          {menuOpen && (
            <div class="menu" role="group" aria-label={fmt.t('user.menu')}>
              {user && <div class="menu-info">{user.email}<br /><small>{fmt.t(`user.role.${user.role}` as MessageKey)}</small></div>}
              <fieldset class="menu-lang">
                <legend>{fmt.t('user.language')}</legend>
                {(['de', 'en'] as Locale[]).map((l) => (
                  <button key={l} type="button" class={`btn btn-small ${fmt.locale === l ? 'btn-primary' : ''}`} aria-pressed={fmt.locale === l}
                    data-testid={`lang-${l}`} lang={l} onClick={() => { setLocale(l); setMenuOpen(false); }}>{fmt.t(`lang.${l}` as MessageKey)}</button>
                ))}
              </fieldset>
              {user && <button type="button" class="btn menu-logout" onClick={logout} data-testid="logout">{fmt.t('user.logout')}</button>}
            </div>
          )}
        </div>
      </header>
      <nav id="sidenav" class="sidenav" aria-label={fmt.t('nav.label')}>
        <ul>
          {NAV.map((n) => (
            <li key={n.path}>
              <a href={href(n.path)} aria-current={active(n) ? 'page' : undefined} data-testid={`nav-${n.path.slice(1) || 'overview'}`}>
                <span class="nav-icon" aria-hidden="true">{n.icon}</span><span class="nav-label">{fmt.t(n.key)}</span>
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {navOpen && <div class="scrim" aria-hidden="true" onClick={() => setNavOpen(false)} />}
      <main id="main" tabIndex={-1}>
        <Page key={route.path} />
      </main>
    </div>
  );
}

function Page() {
  const route = useRoute();
  const [a, b, c] = route.parts;
  switch (a) {
    case undefined: return <OverviewPage />;
    case 'cohorts': return <CohortsPage />;
    case 'revenue': return <RevenuePage />;
    case 'customers': return b ? <CustomerPage id={b} /> : <CustomersPage />;
    case 'segments':
      if (b === 'new') return <SegmentEditorPage id={null} />;
      if (b && c === 'edit') return <SegmentEditorPage id={b} />;
      return <SegmentsPage />;
    case 'templates':
      if (b === 'new') return <TemplateEditorPage name={null} />;
      return b ? <TemplateEditorPage name={b} /> : <TemplatesPage />;
    case 'messages': return b ? <MessageDetailPage id={b} /> : <MessagesPage />;
    case 'campaigns':
      if (b === 'new') return <CampaignEditorPage name={null} />;
      if (b && c === 'report') return <CampaignReportPage name={b} />;
      return b ? <CampaignEditorPage name={b} /> : <CampaignsPage />;
    case 'calendar': return <CalendarPage />;
    case 'journeys':
      if (b === 'new') return <JourneyEditorPage name={null} />;
      if (b && c === 'edit') return <JourneyEditorPage name={b} />;
      return b ? <JourneyPage name={b} /> : <JourneysPage />;
    case 'predictions': return <PredictionsPage />;
    case 'surveys': return <SurveysPage />;
    case 'loyalty': return <LoyaltyPage />;
    case 'settings': return <SettingsPage />;
    default: return <OverviewPage />;
  }
}

