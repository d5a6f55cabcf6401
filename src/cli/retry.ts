import { isEimError, type Resource } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { TERMINAL_SUFFIX } from '../api/index.ts';

/**
 * The label a retry writes, with the time it was asked for. Why a label: a manager parks a
 * resource after an unrecoverable failure until its generation changes, and a label is a user
 * write that bumps the generation, needs no schema change, says who retried and when in the
 * event log, and changes no desired state (so nothing looks like drift once the manager has
 * looked again). A spec field (`spec.retryToken`) would do the same but needs every kind's schema.
 */
export const RETRY_LABEL = 'eim.io/retry';

/** Which status triple holds a resource's unrecoverable error, and what it says. */
export interface ParkedError {
  field: string;
  message: string;
}

/**
 * The unrecoverable error a manager parked the resource with, or undefined. Parked means what the
 * managers mean by it: a status triple at `error` whose message ends with the terminal mark, while
 * `observedGeneration` is still the resource's generation (a new generation is tried again anyway).
 * @example parkedError(inst) // { field: 'provisioningStatus', message: 'installing … failed: checksum mismatch … (not retried until the spec changes)' }
 */
export function parkedError(r: Resource): ParkedError | undefined {
  const status = (r.status ?? {}) as Record<string, unknown>;
  if (status.observedGeneration !== r.generation) return undefined;
  for (const [field, v] of Object.entries(status)) {
    const t = v as { indicator?: unknown; message?: unknown } | undefined;
    if (t && typeof t === 'object' && t.indicator === 'error' && typeof t.message === 'string' && t.message.endsWith(TERMINAL_SUFFIX)) return { field, message: t.message };
  }
  return undefined;
}

/** The server-side part of the selection: resources with any of these triples at error (narrowed by parkedError after). */
export function errorFilter(fields: readonly string[]): string {
  return fields.map((f) => `status.${f}.indicator = error`).join(' OR ');
}

/**
 * Asks the managers to try a parked resource again: sets RETRY_LABEL to now, conditional on the
 * revision read. On a conflict it reads the resource again and retries only if it is still parked.
 * @example await requestRetry(inv, 'default', 'Instance', inst) // 'changed'
 */
export async function requestRetry(inv: InventoryClient, project: string, kind: string, resource: Resource, now: () => Date = () => new Date()): Promise<'changed' | 'unchanged'> {
  let r = resource;
  for (let attempt = 1; ; attempt++) {
    if (!parkedError(r)) return 'unchanged';
    try {
      await inv.update(project, kind, r.id, { labels: { [RETRY_LABEL]: now().toISOString() } }, { ifMatch: r.revision });
      return 'changed';
    } catch (e) {
      if (!(isEimError(e) && e.code === 'conflict') || attempt >= 3) throw e;
      r = await inv.get(project, kind, r.id);
    }
  }
}
