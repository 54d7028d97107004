import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api-client.js';

/** Data loaded from the API: the latest answer, the latest failure, and a way to load it again. */
export interface Resource<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** Loads it again (keeping what it shows until the answer comes). */
  reload(): void;
}

/**
 * Loads `load()` when `key` changes, and again on `reload()`. An answer that comes after a newer
 * request was made is dropped, so what it shows is never older than what it asked for last.
 */
export function useResource<T>(key: string, load: () => Promise<T>): Resource<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: ApiError }>({ key });
  const [version, setVersion] = useState(0);
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const request = ++latest.current;
    loadRef.current().then(
      (data) => request === latest.current && setState({ key, data }),
      (error: unknown) =>
        request === latest.current &&
        setState((previous) => ({
          key,
          ...(previous.key === key && previous.data !== undefined ? { data: previous.data } : {}),
          error: error instanceof ApiError ? error : new ApiError('INTERNAL', String(error), 0),
        })),
    );
  }, [key, version]);
  const reload = useCallback(() => setVersion((value) => value + 1), []);
  const current = state.key === key ? state : { key };
  return { data: current.data, error: current.error, reload };
}

/** Calls `tick` every `ms` while the page is visible (the runs list follows the store this way). */
export function useInterval(tick: () => void, ms: number): void {
  const tickRef = useRef(tick);
  tickRef.current = tick;
  useEffect(() => {
    const handle = setInterval(() => {
      if (document.visibilityState === 'visible') tickRef.current();
    }, ms);
    return () => clearInterval(handle);
  }, [ms]);
}
