import { useEffect, useState } from 'preact/hooks';
import type { ConnectionStatus, LiveSync } from './state/live-sync.ts';
import type { ResourceStore } from './state/resource-store.ts';

/**
 * Re-renders when the store changes: at most once per animation frame, and no more often than
 * every `minIntervalMs` (a large list recomputes a few times a second under a burst, not per event).
 */
export function useStoreVersion(store: ResourceStore, minIntervalMs = 0): number {
  const [version, setVersion] = useState(store.version);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let frame: number | undefined;
    let last = 0;
    const flush = () => {
      frame = undefined;
      timer = undefined;
      last = performance.now();
      setVersion(store.version);
    };
    const schedule = () => {
      if (timer !== undefined || frame !== undefined) return;
      const wait = last + minIntervalMs - performance.now();
      if (wait > 0) timer = setTimeout(() => ((timer = undefined), (frame = requestAnimationFrame(flush))), wait);
      else frame = requestAnimationFrame(flush);
    };
    const off = store.subscribe(schedule);
    if (store.version !== version) schedule();
    return () => {
      off();
      if (timer !== undefined) clearTimeout(timer);
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [store, minIntervalMs]);
  return version;
}

/** The stream's connection status, re-rendered at most once per frame. */
export function useConnection(sync: LiveSync): ConnectionStatus {
  const [status, setStatus] = useState(sync.status);
  useEffect(() => {
    let frame: number | undefined;
    const off = sync.onStatus(() => {
      frame ??= requestAnimationFrame(() => {
        frame = undefined;
        setStatus(sync.status);
      });
    });
    setStatus(sync.status);
    return () => {
      off();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [sync]);
  return status;
}

/** The page's hash route, without the `#`: `/hosts/host-0a1b2c3d`. */
export function useHashRoute(): string {
  const read = () => location.hash.replace(/^#/, '') || '/';
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** The time now, refreshed every `everyMs` (for "12 s ago"; this re-renders, it fetches nothing). */
export function useNow(everyMs = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
