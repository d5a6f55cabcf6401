import { isEimError, kindByName, type Resource, transitionAllowed } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';

/** One spec field of many hosts set to one value: `desiredState = onboarded`. */
export interface HostChange {
  field: 'desiredState' | 'desiredPowerState';
  value: string;
}

const CONFLICT_RETRIES = 3;

/** `spec.desiredState registered → onboarded`, or why it will not change. */
export function describeChange(h: Resource, c: HostChange): { changes: boolean; text: string } {
  const from = h.spec[c.field] as string | undefined;
  const what = `spec.${c.field}`;
  if (from === c.value) return { changes: false, text: `${what} ${from} (unchanged)` };
  const transitions = kindByName('Host')?.transitions;
  const current = h.status.currentState as string | undefined;
  const refused = c.field === 'desiredState' && transitions && !transitionAllowed(transitions, current, c.value);
  return { changes: true, text: `${what} ${from ?? '(unset)'} → ${c.value}${refused ? ` (will fail: not allowed while the host is ${current})` : ''}` };
}

/**
 * Sets the field on one host, conditional on the revision read (If-Match). When someone else
 * wrote the host meanwhile it reads it again and retries: the change is a level, not a delta.
 */
export async function applyHostChange(inv: InventoryClient, project: string, host: Resource, c: HostChange): Promise<'changed' | 'unchanged'> {
  let h = host;
  for (let attempt = 1; ; attempt++) {
    if (h.spec[c.field] === c.value) return 'unchanged';
    try {
      await inv.update(project, 'Host', h.id, { spec: { [c.field]: c.value } }, { ifMatch: h.revision });
      return 'changed';
    } catch (e) {
      if (!(isEimError(e) && e.code === 'conflict') || attempt >= CONFLICT_RETRIES) throw e;
      h = await inv.get(project, 'Host', h.id);
    }
  }
}
