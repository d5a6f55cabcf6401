import { createHash } from 'node:crypto';
import type { NodeConfigItemResult, NodeConfigPayload } from '../../api/index.ts';
import { accountItem, configItem, leftovers, type NodeConfigApplyResult, type NodeConfigMemory } from './node-config-apply.ts';

/** An account on a simulated machine. */
export interface SimAccount {
  uid: number;
  sshKeys: string[];
  /** Keys "the user added by hand": kept whatever eim does. */
  handKeys: string[];
  sudo: 'none' | 'password' | 'nopasswd';
  groups: string[];
  shell?: string;
}

/** System accounts every simulated machine has (Debian's, and a database server's). */
const SYSTEM_ACCOUNTS: Record<string, number> = { root: 0, daemon: 1, bin: 2, sys: 3, sync: 4, games: 5, man: 6, lp: 7, mail: 8, news: 9, 'www-data': 33, backup: 34, nobody: 65534, sshd: 110, postgres: 114, mysql: 115 };

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The accounts, files and cloud-init runs of a simulated machine, changed only by node
 * configuration. Applying is idempotent and follows the real executor's rules: an existing
 * account below uid 1000 is never taken over (unrecoverable), keys added by hand survive, an
 * account or file eim made and the set no longer holds is removed.
 * @example const n = new SimNodeConfig(); n.apply(payload, memory, () => undefined)
 */
export class SimNodeConfig {
  readonly accounts = new Map<string, SimAccount>();
  readonly files = new Map<string, { content: string; mode: string; owner: string }>();
  /** cloud-init documents run: config id → how many times. */
  readonly runs = new Map<string, number>();
  private nextUid = 1000;

  apply(desired: NodeConfigPayload, previous: NodeConfigMemory, inject: (item: string) => 'recoverable' | 'unrecoverable' | undefined): NodeConfigApplyResult {
    const items: NodeConfigItemResult[] = [];
    const managed = new Set(previous.accounts);
    const files = new Map(previous.files.map((f) => [f.path, f]));
    const ran = { ...previous.ran };
    const gone = leftovers(desired, previous);
    for (const username of gone.accounts) {
      this.accounts.delete(username);
      managed.delete(username);
      items.push({ item: accountItem(username), state: 'removed', message: `removed account ${username} (no longer in the node configuration)` });
    }
    for (const f of gone.files) {
      this.files.delete(f.path);
      files.delete(f.path);
      items.push({ item: configItem(f.sourceId), state: 'removed', message: `removed ${f.path}` });
    }
    for (const a of desired.accounts) {
      const item = accountItem(a.username);
      const failure = inject(item);
      if (failure) {
        items.push({ item, state: 'failed', recoverable: failure === 'recoverable', message: failure === 'recoverable' ? `useradd ${a.username}: /etc/passwd is locked (simulated, injected)` : `useradd ${a.username}: cannot create the home directory (simulated, injected)` });
        continue;
      }
      const system = SYSTEM_ACCOUNTS[a.username];
      if (system !== undefined && system < 1000) {
        items.push({ item, state: 'failed', recoverable: false, message: `${a.username} is a system account on this node (uid ${system}): eim does not manage it; choose another username` });
        continue;
      }
      if (a.state === 'absent') {
        const had = this.accounts.delete(a.username);
        managed.delete(a.username);
        items.push({ item, state: 'removed', message: had ? `removed account ${a.username}` : `account ${a.username} is absent` });
        continue;
      }
      const cur = this.accounts.get(a.username);
      this.accounts.set(a.username, { uid: cur?.uid ?? this.nextUid++, sshKeys: [...a.sshKeys], handKeys: cur?.handKeys ?? [], sudo: a.sudo, groups: [...a.groups], ...(a.shell ? { shell: a.shell } : {}) });
      managed.add(a.username);
      items.push({ item, state: 'applied', message: `account ${a.username}: ${a.sshKeys.length} key${a.sshKeys.length === 1 ? '' : 's'}, sudo ${a.sudo}${a.groups.length ? `, groups ${a.groups.join(',')}` : ''}` });
    }
    for (const c of desired.configs) {
      const item = configItem(c.sourceId);
      const failure = inject(item);
      if (failure) {
        items.push({ item, state: 'failed', recoverable: failure === 'recoverable', message: c.type === 'cloud-init' ? `cloud-init module runcmd failed (simulated, injected)` : `writing ${c.path} failed: disk full (simulated, injected)` });
        continue;
      }
      if (c.type === 'file') {
        this.files.set(c.path!, { content: c.content ?? '', mode: c.mode ?? '0644', owner: c.owner ?? 'root:root' });
        files.set(c.path!, { sourceId: c.sourceId, path: c.path! });
        items.push({ item, state: 'applied', message: `wrote ${c.path} (${c.mode}, ${c.owner})` });
      } else {
        const hash = sha(c.config ?? '');
        const run = ran[c.sourceId] === undefined || (c.runPolicy === 'on-change' && ran[c.sourceId] !== hash);
        if (run) {
          this.runs.set(c.sourceId, (this.runs.get(c.sourceId) ?? 0) + 1);
          ran[c.sourceId] = hash;
        }
        items.push({ item, state: 'applied', message: run ? `ran cloud-init document ${c.name}` : `cloud-init document ${c.name} ran before (runPolicy ${c.runPolicy})` });
      }
    }
    return { items, memory: { accounts: [...managed].sort(), files: [...files.values()], ran } };
  }
}
