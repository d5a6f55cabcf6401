import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cloudConfigKeys, type NodeAccount, type NodeConfigFile, type NodeConfigItemResult, type NodeConfigPayload } from '../../api/index.ts';
import { editAuthorizedKeys } from './authorized-keys.ts';
import { commandLine, type ExecFn } from './exec-command.ts';
import { accountItem, configItem, leftovers, type NodeConfigApplyResult, type NodeConfigMemory } from './node-config-apply.ts';

export interface LinuxNodeConfigOptions {
  /** Run useradd, usermod, userdel, groupadd, chown, visudo and cloud-init; without it they are reported, not run. @default false */
  allow: boolean;
  /** Every path is taken relative to this directory (a sandbox: files are written there even without `allow`). */
  root?: string;
  exec: ExecFn;
  hasCommand: (name: string) => boolean;
}

interface Step {
  command: string;
  args: string[];
}

/** Failed for good: trying the same version again cannot help. */
class ItemError extends Error {
  constructor(message: string, readonly recoverable: boolean) {
    super(message);
  }
}

const NOT_ALLOWED = 'the agent runs without --allow-node-config';

/** cloud-init modules that act on a top-level key (`cloud-init single --name`); runcmd's script runs in scripts_user. */
const MODULES: Record<string, string[]> = {
  runcmd: ['runcmd', 'scripts_user'], packages: ['package_update_upgrade_install'], package_update: ['package_update_upgrade_install'], package_upgrade: ['package_update_upgrade_install'],
  users: ['users_groups'], groups: ['users_groups'], user: ['users_groups'], ssh_authorized_keys: ['ssh'], 'ca-certs': ['ca_certs'], fqdn: ['set_hostname'], hostname: ['set_hostname'],
};

/**
 * Node configuration on a Linux machine. Accounts with useradd / usermod / userdel (an account
 * that exists below uid 1000 is never touched); their keys in `~/.ssh/authorized_keys` between
 * eim's marker lines (editAuthorizedKeys: keys added by hand survive); sudo through
 * `/etc/sudoers.d/eim-<user>`, checked with `visudo -c` before it is moved into place; files
 * written atomically with their mode, then chowned; cloud-init documents to
 * `/etc/cloud/cloud.cfg.d/90-eim-<name>.cfg`, run with `cloud-init single` per runPolicy.
 *
 * Without `allow` no command runs: each item is `dry-run` and lists the commands it would have run;
 * files are written only under `root`. With `root`, every path is relative to it.
 * @example await new LinuxNodeConfig({ allow: false, root: '/tmp/sandbox', exec: spawnExec, hasCommand }).apply(payload, memory)
 */
export class LinuxNodeConfig {
  constructor(private readonly o: LinuxNodeConfigOptions) {}

  /** The path on this machine of a path on the node (under `root` when given). */
  private p(abs: string): string {
    return this.o.root ? path.join(this.o.root, abs) : abs;
  }

  /** Files may be written: for real (allow) or into the sandbox (root). */
  private get writes(): boolean {
    return this.o.allow || this.o.root !== undefined;
  }

  async apply(desired: NodeConfigPayload, previous: NodeConfigMemory, signal: AbortSignal): Promise<NodeConfigApplyResult> {
    const items: NodeConfigItemResult[] = [];
    const managed = new Set(previous.accounts);
    const files = new Map(previous.files.map((f) => [f.path, f]));
    const ran = { ...previous.ran };
    const gone = leftovers(desired, previous);
    const run = async (item: string, fn: (steps: Step[]) => Promise<string>) => {
      const steps: Step[] = [];
      try {
        const message = await fn(steps);
        const lines = steps.map((s) => commandLine(s.command, s.args));
        if (!this.o.allow && lines.length > 0) items.push({ item, state: 'dry-run', message: `dry run: ${message}; ${NOT_ALLOWED}, so it ran nothing`.slice(0, 1024), wouldRun: lines.slice(0, 32).map((l) => l.slice(0, 1024)) });
        else items.push({ item, state: message.startsWith('removed') ? 'removed' : 'applied', message: message.slice(0, 1024) });
        return true;
      } catch (e) {
        if (signal.aborted) items.push({ item, state: 'failed', recoverable: true, message: 'stopped: the agent is stopping' });
        else items.push({ item, state: 'failed', recoverable: e instanceof ItemError ? e.recoverable : true, message: (e as Error).message.slice(0, 1024) });
        return false;
      }
    };
    const passwd = await this.passwd();
    for (const username of gone.accounts) {
      if (await run(accountItem(username), (steps) => this.removeAccount(username, passwd, steps, signal))) managed.delete(username);
    }
    for (const f of gone.files) {
      if (await run(configItem(f.sourceId), async () => {
        if (this.writes) await rm(this.p(f.path), { force: true });
        return `removed ${f.path} (its config no longer applies)`;
      })) files.delete(f.path);
    }
    for (const a of desired.accounts) {
      const item = accountItem(a.username);
      if (a.state === 'absent') {
        if (await run(item, (steps) => this.removeAccount(a.username, passwd, steps, signal))) managed.delete(a.username);
      } else if (await run(item, (steps) => this.account(a, passwd, steps, signal))) managed.add(a.username);
    }
    for (const c of desired.configs) {
      const item = configItem(c.sourceId);
      if (c.type === 'file') {
        if (await run(item, (steps) => this.file(c, steps, signal))) files.set(c.path!, { sourceId: c.sourceId, path: c.path! });
      } else {
        const hash = createHash('sha256').update(c.config ?? '').digest('hex');
        await run(item, async (steps) => {
          const message = await this.cloudInit(c, ran[c.sourceId], hash, steps, signal);
          if (this.o.allow) ran[c.sourceId] = ran[c.sourceId] === undefined || c.runPolicy === 'on-change' ? hash : ran[c.sourceId];
          return message;
        });
      }
    }
    return { items, memory: { accounts: [...managed].sort(), files: [...files.values()], ran } };
  }

  /** Accounts of the node's /etc/passwd (under root): name → uid and home. */
  private async passwd(): Promise<Map<string, { uid: number; home: string; shell: string }>> {
    const out = new Map<string, { uid: number; home: string; shell: string }>();
    let text = '';
    try {
      text = await readFile(this.p('/etc/passwd'), 'utf8');
    } catch {
      return out;
    }
    for (const line of text.split('\n')) {
      const [name, , uid, , , home, shell] = line.split(':');
      if (name && uid !== undefined && /^\d+$/.test(uid)) out.set(name, { uid: Number(uid), home: home || `/home/${name}`, shell: shell ?? '' });
    }
    return out;
  }

  private systemAccount(username: string, passwd: Map<string, { uid: number }>): void {
    const e = passwd.get(username);
    if (e && e.uid < 1000) throw new ItemError(`${username} is a system account on this node (uid ${e.uid}): eim does not manage it; choose another username`, false);
  }

  /** Runs a step (with allow), or records it for the dry-run report. A failing step fails the item. */
  private async step(steps: Step[], command: string, args: string[], signal: AbortSignal, recoverable = true): Promise<void> {
    const rootArgs = this.o.root && ['useradd', 'usermod', 'userdel', 'groupadd'].includes(command) ? ['--root', this.o.root] : [];
    const s = { command, args: [...rootArgs, ...args] };
    steps.push(s);
    if (!this.o.allow) return;
    let r;
    try {
      r = await this.o.exec(s.command, s.args, { signal });
    } catch (e) {
      throw new ItemError(`could not run ${commandLine(s.command, s.args)}: ${(e as Error).message}`, false);
    }
    if (r.code !== 0) {
      const tail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ');
      throw new ItemError(`${commandLine(s.command, s.args)} exited with ${r.code}${tail ? `: ${tail}` : ''}`, recoverable);
    }
  }

  private async account(a: NodeAccount, passwd: Map<string, { uid: number; home: string; shell: string }>, steps: Step[], signal: AbortSignal): Promise<string> {
    this.systemAccount(a.username, passwd);
    const cur = passwd.get(a.username);
    for (const g of a.groups) await this.step(steps, 'groupadd', ['--force', g], signal);
    if (!cur) {
      await this.step(steps, 'useradd', ['--create-home', '--shell', a.shell ?? '/bin/bash', ...(a.groups.length ? ['--groups', a.groups.join(',')] : []), '--', a.username], signal);
    } else {
      if (a.shell && cur.shell !== a.shell) await this.step(steps, 'usermod', ['--shell', a.shell, '--', a.username], signal);
      if (a.groups.length) await this.step(steps, 'usermod', ['--append', '--groups', a.groups.join(','), '--', a.username], signal);
    }
    const home = cur?.home ?? `/home/${a.username}`;
    const sshDir = path.posix.join(home, '.ssh');
    const keysFile = path.posix.join(sshDir, 'authorized_keys');
    if (this.writes) {
      await mkdir(this.p(sshDir), { recursive: true, mode: 0o700 });
      const existing = await readFile(this.p(keysFile), 'utf8').catch(() => '');
      const next = editAuthorizedKeys(existing, a.sshKeys);
      if (next !== existing) await this.writeAtomic(keysFile, next, 0o600);
    }
    await this.step(steps, 'chown', ['-R', `${a.username}:`, this.p(sshDir)], signal);
    await this.sudo(a.username, a.sudo, steps, signal);
    return `account ${a.username}: ${a.sshKeys.length} key${a.sshKeys.length === 1 ? '' : 's'} in ${keysFile}, sudo ${a.sudo}${a.groups.length ? `, groups ${a.groups.join(',')}` : ''}`;
  }

  private async removeAccount(username: string, passwd: Map<string, { uid: number; home: string }>, steps: Step[], signal: AbortSignal): Promise<string> {
    this.systemAccount(username, passwd);
    await this.sudo(username, 'none', steps, signal);
    const cur = passwd.get(username);
    const keysFile = path.posix.join(cur?.home ?? `/home/${username}`, '.ssh', 'authorized_keys');
    if (this.writes) {
      const existing = await readFile(this.p(keysFile), 'utf8').catch(() => undefined);
      if (existing !== undefined) {
        const next = editAuthorizedKeys(existing, []);
        if (next !== existing) await this.writeAtomic(keysFile, next, 0o600);
      }
    }
    // The home directory stays (userdel without --remove): what the user kept there is theirs.
    if (cur || !this.o.allow) await this.step(steps, 'userdel', ['--', username], signal);
    return `removed account ${username} (its home directory is kept), its sudoers file and eim's keys`;
  }

  /** `/etc/sudoers.d/eim-<user>`: checked with visudo -c under a name sudo ignores (it has a dot), then moved into place. */
  private async sudo(username: string, policy: NodeAccount['sudo'], steps: Step[], signal: AbortSignal): Promise<void> {
    const file = `/etc/sudoers.d/eim-${username}`;
    if (policy === 'none') {
      if (this.writes) await rm(this.p(file), { force: true });
      return;
    }
    const content = `# written by the eim agent for local account ${username}\n${username} ALL=(ALL:ALL) ${policy === 'nopasswd' ? 'NOPASSWD: ' : ''}ALL\n`;
    const existing = await readFile(this.p(file), 'utf8').catch(() => undefined);
    if (existing === content) return;
    const tmp = `/etc/sudoers.d/.eim-${username}.tmp`;
    if (this.writes) {
      await mkdir(this.p('/etc/sudoers.d'), { recursive: true, mode: 0o750 });
      await writeFile(this.p(tmp), content, { mode: 0o440 });
    }
    try {
      if (this.o.allow && !this.o.hasCommand('visudo')) throw new ItemError('visudo is not installed: the sudoers file cannot be checked, so sudo was not configured (install sudo)', false);
      await this.step(steps, 'visudo', ['-c', '-q', '-f', this.p(tmp)], signal, false);
    } catch (e) {
      if (this.writes) await rm(this.p(tmp), { force: true });
      throw e;
    }
    if (this.writes) await rename(this.p(tmp), this.p(file));
  }

  private async file(c: NodeConfigFile, steps: Step[], signal: AbortSignal): Promise<string> {
    const mode = parseInt(c.mode ?? '0644', 8);
    if (this.writes) {
      await mkdir(this.p(path.posix.dirname(c.path!)), { recursive: true, mode: 0o755 });
      await this.writeAtomic(c.path!, c.content ?? '', mode);
    } else {
      steps.push({ command: 'write', args: [c.path!, `mode ${c.mode ?? '0644'}`, `${Buffer.byteLength(c.content ?? '')} bytes`] });
    }
    await this.step(steps, 'chown', [c.owner ?? 'root:root', this.p(c.path!)], signal);
    return `wrote ${c.path} (${c.mode ?? '0644'}, ${c.owner ?? 'root:root'})`;
  }

  private async cloudInit(c: NodeConfigFile, ranHash: string | undefined, hash: string, steps: Step[], signal: AbortSignal): Promise<string> {
    const doc = `/etc/cloud/cloud.cfg.d/90-eim-${c.name.replace(/[^A-Za-z0-9._-]/g, '_')}.cfg`;
    if (this.writes) {
      await mkdir(this.p(path.posix.dirname(doc)), { recursive: true, mode: 0o755 });
      await this.writeAtomic(doc, c.config ?? '', 0o644);
    } else {
      steps.push({ command: 'write', args: [doc, 'mode 0644'] });
    }
    const due = ranHash === undefined || (c.runPolicy === 'on-change' && ranHash !== hash);
    if (!due) return `wrote ${doc}; it ran before (runPolicy ${c.runPolicy})`;
    if (this.o.allow && !this.o.hasCommand('cloud-init')) throw new ItemError(`cloud-init is not installed: ${doc} was written but cannot run`, false);
    const modules = [...new Set(cloudConfigKeys(c.config ?? '').flatMap((k) => MODULES[k] ?? [k]))];
    for (const m of modules) await this.step(steps, 'cloud-init', ['single', '--name', m, '--frequency', 'always', '--file', this.p(doc)], signal, false);
    return `wrote ${doc} and ran ${modules.length ? modules.join(', ') : 'nothing (no modules)'}`;
  }

  /** Writes a file through a temporary one in the same directory, with its mode, then renames it into place. */
  private async writeAtomic(abs: string, content: string, mode: number): Promise<void> {
    const target = this.p(abs);
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.eim-${process.pid}.tmp`);
    await writeFile(tmp, content, { mode });
    await chmod(tmp, mode); // writeFile's mode is masked by the umask
    await rename(tmp, target);
  }
}
