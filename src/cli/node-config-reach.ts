import { type HostNodeConfig, type Inventory, listAll } from '../api/index.ts';

/** How far one LocalAccount or CustomConfig got: the hosts whose effective set holds it, and of those the ones whose agent applied it. */
export interface Reach {
  hosts: number;
  applied: number;
  failed: number;
}

/**
 * Per LocalAccount / CustomConfig id, the hosts of the project it reached (`status.nodeConfig.sources`)
 * and how many applied it (the agent applied the host's current version and did not fail the item).
 * One list of the project's hosts.
 * @example (await nodeConfigReach(inv, 'default')).get('localaccount-0a1b2c3d') // { hosts: 12, applied: 11, failed: 1 }
 */
export async function nodeConfigReach(inv: Pick<Inventory, 'list'>, project: string): Promise<Map<string, Reach>> {
  const out = new Map<string, Reach>();
  for (const h of (await listAll(inv, project, 'Host', { filter: 'status.nodeConfig.version != ""' })).items) {
    const nc = (h.status as { nodeConfig?: HostNodeConfig }).nodeConfig;
    if (!nc) continue;
    const current = nc.appliedVersion === nc.version;
    const failed = new Set((nc.items ?? []).filter((i) => i.state === 'failed').map((i) => i.item));
    for (const s of nc.sources) {
      const r = out.get(s.resourceId) ?? { hosts: 0, applied: 0, failed: 0 };
      r.hosts++;
      if (current && !failed.has(s.item)) r.applied++;
      if (current && failed.has(s.item)) r.failed++;
      out.set(s.resourceId, r);
    }
  }
  return out;
}
