import { cloudConfigProblem } from './cloud-config.ts';
import { selectorProblem } from './host-selector.ts';
import { NODE_CONFIG_TARGET_KEYS } from './node-config.ts';
import { parseSshKey, SshKeyError } from './ssh-key.ts';

/**
 * Usernames eim never manages: the accounts Linux distributions create for themselves. The agent
 * also refuses any account on the node below uid 1000 (reported as that item's error).
 */
export const RESERVED_USERNAMES = new Set([
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy', 'www-data', 'backup', 'list', 'irc', 'gnats', 'nobody', 'nogroup',
  'adm', 'halt', 'shutdown', 'operator', 'ftp', 'sshd', 'messagebus', 'polkitd', 'dbus', 'syslog', 'systemd-network', 'systemd-resolve', 'systemd-timesync',
  'systemd-journal', 'systemd-coredump', '_apt', 'tss', 'uuidd', 'tcpdump', 'landscape', 'pollinate', 'lxd', 'chrony', 'ntp', 'postfix', 'eim', 'eim-agent',
]);

/** Groups an account may not join: membership is root in all but name. */
const FORBIDDEN_GROUPS = new Set(['root', 'shadow', 'disk', 'kmem']);

function exactlyOneTarget(target: unknown): string | undefined {
  if (target === undefined) return undefined;
  const set = NODE_CONFIG_TARGET_KEYS.filter((k) => (target as Record<string, unknown>)[k] !== undefined);
  if (set.length !== 1) return `spec.target must set exactly one of ${NODE_CONFIG_TARGET_KEYS.join(', ')} (it sets ${set.length === 0 ? 'none' : set.join(', ')})`;
  return selectorProblem((target as { selector?: unknown }).selector, 'spec.target.selector');
}

/** The keys of an account spec, `sshKey` as a one-key list. */
export function accountKeys(spec: { sshKey?: string; sshKeys?: string[] }): string[] {
  return spec.sshKeys ?? (spec.sshKey !== undefined ? [spec.sshKey] : []);
}

/**
 * What is wrong with a LocalAccount spec that its schema cannot say, naming the field; never
 * echoes a key. Reserved usernames, malformed or weak keys, both sshKey and sshKeys, one key
 * twice, a forbidden group, a target that does not set exactly one level.
 * @example localAccountProblem({ username: 'root', sshKeys: [] }) // 'spec.username: "root" is a system account …'
 */
export function localAccountProblem(spec: Record<string, unknown>): string | undefined {
  const s = spec as { username: string; sshKey?: string; sshKeys?: string[]; groups?: string[]; shell?: string };
  if (RESERVED_USERNAMES.has(s.username) || s.username.startsWith('systemd-')) {
    return `spec.username: "${s.username}" is a system account eim does not manage; choose another name`;
  }
  if (s.sshKey !== undefined && s.sshKeys !== undefined) {
    return 'spec.sshKey and spec.sshKeys: set one of them, not both (to move to the list, patch {"spec": {"sshKey": null, "sshKeys": [...]}})';
  }
  const field = s.sshKeys !== undefined ? 'spec.sshKeys' : 'spec.sshKey';
  const seen = new Set<string>();
  for (const [i, text] of accountKeys(s).entries()) {
    const where = s.sshKeys !== undefined ? `${field}[${i}]` : field;
    try {
      const key = parseSshKey(text);
      if (seen.has(key.body)) return `${where}: the same key is listed twice`;
      seen.add(key.body);
    } catch (e) {
      if (e instanceof SshKeyError) return `${where}: the SSH public key ${e.message}`;
      throw e;
    }
  }
  for (const [i, g] of (s.groups ?? []).entries()) {
    if (FORBIDDEN_GROUPS.has(g)) return `spec.groups[${i}]: membership of "${g}" is root access in all but name; use spec.sudo instead`;
  }
  if (s.shell !== undefined && s.shell.split('/').includes('..')) return 'spec.shell: an absolute path without ".." (e.g. /bin/bash)';
  return exactlyOneTarget(spec.target);
}

/** Paths eim writes itself: a custom file may not take them over. */
const OWN_PATHS = [/^\/etc\/sudoers(\.d\/eim-|$)/, /^\/etc\/cloud\/cloud\.cfg\.d\/90-eim-/, /^\/etc\/(passwd|shadow|group|gshadow)$/];

/**
 * What is wrong with a CustomConfig spec, naming the field: a cloud-init document that is not a
 * valid `#cloud-config` (cloudConfigProblem); a file whose path is not absolute, normalized and
 * under /etc or /opt, or holds `..`; fields of the other type.
 * @example customConfigProblem({ type: 'file', path: '/tmp/x', content: '' }) // 'spec.path: …'
 */
export function customConfigProblem(spec: Record<string, unknown>): string | undefined {
  const s = spec as { type?: string; config?: string; path?: string; mode?: string; owner?: string; content?: string };
  const type = s.type ?? 'cloud-init';
  if (type === 'cloud-init') {
    const extra = (['path', 'mode', 'owner', 'content'] as const).find((k) => s[k] !== undefined);
    if (extra) return `spec.${extra}: only for type "file" (this config is type "cloud-init": its document goes in spec.config)`;
    if (s.config === undefined) return 'spec.config is required for type "cloud-init": a #cloud-config YAML document';
    const problem = cloudConfigProblem(s.config);
    if (problem) return `spec.config ${problem}`;
  } else {
    if (s.config !== undefined) return 'spec.config: only for type "cloud-init" (a file config has spec.path and spec.content)';
    if (s.path === undefined) return 'spec.path is required for type "file": an absolute path under /etc or /opt';
    if (s.content === undefined) return 'spec.content is required for type "file" (it may be empty)';
    const p = s.path;
    if (!p.startsWith('/')) return `spec.path must be absolute (start with /): ${JSON.stringify(p.slice(0, 80))}`;
    if (p.split('/').some((part) => part === '..' || part === '.')) return 'spec.path may not hold "." or ".." components';
    if (!/^\/[A-Za-z0-9._@+/-]+$/.test(p) || p.includes('//') || p.endsWith('/')) return 'spec.path: letters, digits and . _ @ + - / only, no empty components, not ending in /';
    if (!/^\/(etc|opt)\/./.test(p)) return `spec.path must be under /etc or /opt: ${JSON.stringify(p.slice(0, 80))}`;
    if (OWN_PATHS.some((re) => re.test(p))) return `spec.path: ${p} is managed by eim itself or holds the accounts database; use a LocalAccount`;
  }
  return exactlyOneTarget(spec.target);
}
