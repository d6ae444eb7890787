import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { SessionUser, Workspace } from './api';
import type { Formatter, Locale } from './i18n';

export interface AppState {
  fmt: Formatter;
  user: SessionUser | null;   // null: authenticated by an API key (development), no session
  workspace: Workspace | null;
  canWrite: boolean;
  isAdmin: boolean;
  setLocale: (locale: Locale) => void;
  logout: () => void;
  reloadWorkspace: () => void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const v = useContext(AppContext);
  if (!v) throw new Error('AppContext missing');
  return v;
}
