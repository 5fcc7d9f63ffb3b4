// A small router over the History API: the path is state, links push it, back/forward pop it.
// (A dozen fixed URLs need no library: see routes.ts for the table.)
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const CHANGE = 'slipway:navigate';

/** Goes to a path of the dashboard without reloading the page. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
  window.scrollTo(0, 0);
}

/** The current location (path and query), re-rendering on every navigation. */
export function useLocation(): { pathname: string; search: string } {
  const read = () => ({ pathname: location.pathname, search: location.search });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    window.addEventListener('popstate', on);
    window.addEventListener(CHANGE, on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener(CHANGE, on);
    };
  }, []);
  return loc;
}

/** A link inside the dashboard: a real <a href> (new tab, copy link work), followed in place on a plain click. */
export function Link({ href, children, current, ...rest }: { href: string; children: ComponentChildren; class?: string; current?: boolean; title?: string }) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a {...rest} href={href} onClick={onClick} aria-current={current ? 'page' : undefined}>{children}</a>;
}
