/**
 * Client routes under /admin, on the History API (the gateway answers every /admin path that is not
 * a file with index.html). A route change moves focus to the new page's heading, as a page load
 * would, so keyboard and screen-reader users land at its start.
 */
import { createElement, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export const BASE = '/admin';
const CHANGE = 'verigate:navigate';

function subscribe(fn: () => void) {
  window.addEventListener('popstate', fn);
  window.addEventListener(CHANGE, fn);
  return () => {
    window.removeEventListener('popstate', fn);
    window.removeEventListener(CHANGE, fn);
  };
}

/** Whether the console has moved from the page it was loaded on (a loaded page keeps the browser's own focus). */
let moved = false;
export const hasNavigated = () => moved;
window.addEventListener('popstate', () => (moved = true));

const current = () => window.location.pathname.slice(BASE.length).replace(/\/+$/, '') || '/';

/** The path below /admin ("/" for the start page), and the query string's parameters. */
export function useRoute(): { path: string; params: URLSearchParams } {
  const path = useSyncExternalStore(subscribe, current);
  const search = useSyncExternalStore(subscribe, () => window.location.search);
  return { path, params: new URLSearchParams(search) };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = `${BASE}${to}`;
  moved = true;
  if (opts.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(CHANGE));
}

/** `/checks/:id` against a path: the parameters, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const a = path.split('/');
  if (p.length !== a.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(a[i]);
    else if (p[i] !== a[i]) return null;
  }
  return out;
}

/** An ordinary link (open in a new tab works) that navigates in place on a plain click. */
export function Link({ to, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return createElement('a', { ...rest, href: `${BASE}${to}`, onClick });
}
