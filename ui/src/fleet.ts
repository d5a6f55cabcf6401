import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from './api/api-client.ts';
import { LiveSync, type WatchedKind } from './state/live-sync.ts';
import { ResourceStore } from './state/resource-store.ts';

/** What the console holds for the whole project, on one watch stream. */
export const WATCHED: readonly WatchedKind[] = [
  { path: 'hosts', kind: 'Host' },
  { path: 'instances', kind: 'Instance' },
  { path: 'regions', kind: 'Region' },
  { path: 'sites', kind: 'Site' },
  { path: 'schedules', kind: 'Schedule' },
  { path: 'operating-systems', kind: 'OperatingSystem' },
  { path: 'os-update-policies', kind: 'OsUpdatePolicy' },
  // Few, and named on the host page (its effective telemetry).
  { path: 'telemetry-groups', kind: 'TelemetryGroup' },
  { path: 'telemetry-profiles', kind: 'TelemetryProfile' },
  // The header's firing count, the Alerts view and each host's alerts.
  { path: 'alerts', kind: 'Alert' },
  // Few: the Alerts view lists them, each with a button that sends a test notification.
  { path: 'alert-receivers', kind: 'AlertReceiver' },
];

/**
 * A resource's name from the console's copy, or its id when it does not hold it (or `—` for none).
 * @example nameIn(store)('OperatingSystem', 'os-0a1b2c3d') // 'ubuntu-22-04'
 */
export const nameIn =
  (store: Pick<ResourceStore, 'get'>) =>
  (kind: string, id: string | undefined): string =>
    id ? (store.get(kind, id)?.name ?? id) : '—';

export interface Fleet {
  api: ApiClient;
  project: string;
  store: ResourceStore;
  sync: LiveSync;
}

/**
 * Lists the project and keeps it live; `sync.stop()` ends it.
 * @example const fleet = openFleet(api, 'default')
 */
export function openFleet(api: ApiClient, project: string): Fleet {
  const store = new ResourceStore();
  const sync = new LiveSync({ api, project, kinds: WATCHED, store });
  sync.start();
  return { api, project, store, sync };
}

export const FleetContext = createContext<Fleet | undefined>(undefined);

export function useFleet(): Fleet {
  const f = useContext(FleetContext);
  if (!f) throw new Error('useFleet outside a FleetContext');
  return f;
}
