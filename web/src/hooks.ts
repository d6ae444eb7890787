import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from './api';

export interface Loaded<T> { data: T | null; error: unknown; loading: boolean; reload: () => void }

// GETs `path` (null: nothing) and re-fetches when it changes; an older answer never overwrites a newer one.
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: path !== null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) { setState({ data: null, error: null, loading: false }); return; }
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, error: null, loading: true }));
    api.get<T>(path, undefined, ctl.signal).then(
      (data) => { if (!ctl.signal.aborted) setState({ data, error: null, loading: false }); },
      (error: unknown) => { if (!ctl.signal.aborted) setState({ data: null, error, loading: false }); },
    );
    return () => ctl.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => { const id = window.setTimeout(() => setV(value), ms); return () => window.clearTimeout(id); }, [value, ms]);
  return v;
}

// Calls `reload` every `ms` while `active` (e.g. while messages are still on their way).
export function useRefreshWhile(active: boolean, reload: () => void, data: unknown, ms = 3000): void {
  useEffect(() => {
    if (!active) return;
    const id = window.setTimeout(reload, ms);
    return () => window.clearTimeout(id);
  }, [active, data]);
}
