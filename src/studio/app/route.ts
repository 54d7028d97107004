import { useEffect, useState } from 'preact/hooks';

/** Where the app is: a run (at a checkpoint), a comparison of two runs, or nowhere yet. */
export type Route =
  | { view: 'runs'; runId?: string; checkpointId?: string }
  | { view: 'compare'; a: string; b: string };

/**
 * The route of a location hash: `#/runs/RUN`, `#/runs/RUN/checkpoints/CHECKPOINT`,
 * `#/compare/A/B`. Hash routing: a link to any of them works wherever the studio is mounted.
 */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'compare' && parts[1] !== undefined && parts[2] !== undefined)
    return { view: 'compare', a: parts[1], b: parts[2] };
  if (parts[0] === 'runs' && parts[1] !== undefined) {
    return parts[2] === 'checkpoints' && parts[3] !== undefined
      ? { view: 'runs', runId: parts[1], checkpointId: parts[3] }
      : { view: 'runs', runId: parts[1] };
  }
  return { view: 'runs' };
}

/** The link of a route. */
export function hrefOf(route: Route): string {
  const part = encodeURIComponent;
  if (route.view === 'compare') return `#/compare/${part(route.a)}/${part(route.b)}`;
  if (route.runId === undefined) return '#/';
  const run = `#/runs/${part(route.runId)}`;
  return route.checkpointId === undefined ? run : `${run}/checkpoints/${part(route.checkpointId)}`;
}

/** Goes to a route (a new history entry: the browser's back button goes back). */
export function navigate(route: Route): void {
  location.hash = hrefOf(route);
}

/** The current route, following the location hash. */
export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const follow = () => setHash(location.hash);
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  return parseRoute(hash);
}
