import {
  accountKeys, type NodeAccount, type NodeConfigFile, type NodeConfigSource, NODE_CONFIG_LIMITS, parseSshKey, type Resource, type ResourceOf,
} from '../../api/index.ts';
import { canonicalJson, configVersion } from '../telemetry/effective-telemetry.ts';

export type LocalAccount = ResourceOf<'LocalAccount'> & Resource;
export type CustomConfig = ResourceOf<'CustomConfig'> & Resource;
export type NodeConfigLevelName = 'region' | 'site' | 'selector' | 'instance';

/** What one region, site or instance brings to a host. */
export interface NodeConfigLevel {
  level: NodeConfigLevelName;
  targetId: string;
  /** `target`: the resource targets this level; `instance`: the instance names it (localAccountId, customConfigIds). */
  accounts: readonly { resource: LocalAccount; via: 'target' | 'instance' }[];
  configs: readonly { resource: CustomConfig; via: 'target' | 'instance' }[];
}

export interface NodeConfigConflictEntry {
  item: string;
  keptId: string;
  ignoredId: string;
  message: string;
}

export interface EffectiveNodeConfig {
  /** First 16 hex digits of the sha256 of the canonical JSON of { accounts, configs }. */
  version: string;
  accounts: NodeAccount[];
  configs: NodeConfigFile[];
  sources: NodeConfigSource[];
  conflicts: NodeConfigConflictEntry[];
}

/** Bytes of accounts and configs (JSON) one host's status may carry; beyond it items are left out (and said so). */
export const NODE_CONFIG_MAX_BYTES = 160 * 1024;

interface Entry<R> {
  resource: R;
  level: NodeConfigLevelName;
  targetId: string;
  via: 'target' | 'instance';
  /** Position of the level: higher is more specific; all of a host's instances share one. */
  rank: number;
}

/**
 * The effective node configuration of one host from its levels, given from least to most
 * specific: the region chain from the root region down to the site's region, the site, then the
 * host's instances (all equally specific).
 *
 * The merge rule:
 * 1. Accounts are keyed by username: the most specific level's account wins and the less specific
 *    ones of that username are its `overrides`; a winning account with `state: absent` stays in the
 *    set as absent, so the agent removes the account (a site can take a region's account away).
 * 2. File configs are keyed by path the same way; cloud-init configs all apply (in name order).
 * 3. Two different resources with one key at the same specificity are a conflict: the older
 *    (createdAt, then id) is kept, the other left out and named in `conflicts`.
 * 4. At most NODE_CONFIG_LIMITS accounts and configs and NODE_CONFIG_MAX_BYTES of them: what does
 *    not fit is left out and named in `conflicts`.
 * 5. SSH keys are normalized to `type body comment`; a stored key that no longer parses (saved
 *    before keys were checked) is left out.
 *
 * The result is deterministic: accounts by username, configs by name then id, the version a hash
 * of canonical JSON.
 * @example effectiveNodeConfig([{ level: 'site', targetId: 'site-0a1b2c3d', accounts: [{ resource: acct, via: 'target' }], configs: [] }])
 */
export function effectiveNodeConfig(levels: readonly NodeConfigLevel[]): EffectiveNodeConfig {
  const accountsByName = new Map<string, Entry<LocalAccount>[]>();
  const filesByPath = new Map<string, Entry<CustomConfig>[]>();
  const cloudInit = new Map<string, Entry<CustomConfig>>();
  let rank = 0;
  for (const [i, lvl] of levels.entries()) {
    if (lvl.level !== 'instance' || levels[i - 1]?.level !== 'instance') rank++;
    for (const a of lvl.accounts) push(accountsByName, a.resource.spec.username, { resource: a.resource, level: lvl.level, targetId: lvl.targetId, via: a.via, rank });
    for (const c of lvl.configs) {
      const e = { resource: c.resource, level: lvl.level, targetId: lvl.targetId, via: c.via, rank };
      if ((c.resource.spec.type ?? 'cloud-init') === 'file') push(filesByPath, c.resource.spec.path!, e);
      else if (!cloudInit.has(c.resource.id) || cloudInit.get(c.resource.id)!.rank < rank) cloudInit.set(c.resource.id, e);
    }
  }
  const conflicts: NodeConfigConflictEntry[] = [];
  const sources: NodeConfigSource[] = [];
  const accounts: NodeAccount[] = [];
  const configs: NodeConfigFile[] = [];
  let bytes = 0;
  const fits = (item: string, id: string, value: unknown, count: number, max: number): boolean => {
    const size = canonicalJson(value).length;
    if (count < max && bytes + size <= NODE_CONFIG_MAX_BYTES) {
      bytes += size;
      return true;
    }
    conflicts.push({ item, keptId: '', ignoredId: id, message: `${item} (${id}) is left out: a host takes at most ${max} of these and ${NODE_CONFIG_MAX_BYTES / 1024} KiB of accounts and configs` });
    return false;
  };

  for (const username of [...accountsByName.keys()].sort()) {
    const item = `account:${username}`;
    const { winner, rest } = pick(accountsByName.get(username)!, item, conflicts);
    const s = winner.resource.spec;
    const keys = accountKeys(s).flatMap((k) => {
      try {
        return [parseSshKey(k).line];
      } catch {
        return [];
      }
    });
    const account: NodeAccount = {
      username, sshKeys: keys, sudo: s.sudo ?? 'none', groups: [...(s.groups ?? [])].sort(), ...(s.shell ? { shell: s.shell } : {}), state: s.state ?? 'present', sourceId: winner.resource.id,
    };
    if (!fits(item, winner.resource.id, account, accounts.length, NODE_CONFIG_LIMITS.accounts)) continue;
    accounts.push(account);
    sources.push(source(item, winner, rest));
  }

  const chosen: { entry: Entry<CustomConfig>; rest: Entry<CustomConfig>[] }[] = [...cloudInit.values()].map((entry) => ({ entry, rest: [] }));
  for (const path of filesByPath.keys()) {
    const { winner, rest } = pick(filesByPath.get(path)!, `file:${path}`, conflicts);
    chosen.push({ entry: winner, rest });
  }
  chosen.sort((a, b) => byNameThenId(a.entry.resource, b.entry.resource));
  for (const { entry, rest } of chosen) {
    const r = entry.resource;
    const s = r.spec;
    const item = `config:${r.id}`;
    const type = s.type ?? 'cloud-init';
    const file: NodeConfigFile =
      type === 'file'
        ? { sourceId: r.id, name: r.name, type, runPolicy: s.runPolicy ?? 'on-change', path: s.path!, mode: s.mode ?? '0644', owner: s.owner ?? 'root:root', content: s.content ?? '' }
        : { sourceId: r.id, name: r.name, type, runPolicy: s.runPolicy ?? 'on-change', config: s.config ?? '#cloud-config\n' };
    if (!fits(item, r.id, file, configs.length, NODE_CONFIG_LIMITS.configs)) continue;
    configs.push(file);
    sources.push(source(item, entry, rest));
  }
  return { version: configVersion({ accounts, configs }), accounts, configs, sources: sources.slice(0, NODE_CONFIG_LIMITS.sources), conflicts: conflicts.slice(0, NODE_CONFIG_LIMITS.conflicts) };
}

function push<R>(map: Map<string, Entry<R>[]>, key: string, e: Entry<R>): void {
  const list = map.get(key) ?? [];
  list.push(e);
  map.set(key, list);
}

/** The most specific entry (older first on a tie, the younger ones recorded as conflicts); the rest are overridden. */
function pick<R extends Resource>(entries: Entry<R>[], item: string, conflicts: NodeConfigConflictEntry[]): { winner: Entry<R>; rest: Entry<R>[] } {
  // One resource reached through several routes (a target and an instance's reference) counts once, at its most specific.
  const byId = new Map<string, Entry<R>>();
  for (const e of entries) if (!byId.has(e.resource.id) || byId.get(e.resource.id)!.rank < e.rank) byId.set(e.resource.id, e);
  const list = [...byId.values()].sort((a, b) => b.rank - a.rank || olderFirst(a.resource, b.resource));
  const winner = list[0];
  for (const e of list.slice(1)) {
    if (e.rank !== winner.rank) continue;
    conflicts.push({
      item, keptId: winner.resource.id, ignoredId: e.resource.id,
      message: `${item}: ${e.resource.kind} ${e.resource.id} ("${e.resource.name}") and ${winner.resource.id} ("${winner.resource.name}") both give it at ${e.level} level; ${winner.resource.id}, the older, applies. Remove or retarget one of them`,
    });
  }
  return { winner, rest: list.slice(1).filter((e) => e.rank !== winner.rank) };
}

function source(item: string, e: Entry<Resource>, rest: Entry<Resource>[]): NodeConfigSource {
  return { item, resourceId: e.resource.id, level: e.level, targetId: e.targetId, via: e.via, ...(rest.length ? { overrides: rest.slice(0, 16).map((r) => r.resource.id) } : {}) };
}

function olderFirst(a: Resource, b: Resource): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function byNameThenId(a: Resource, b: Resource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
