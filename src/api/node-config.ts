import Type, { type Static } from 'typebox';
import { closed, Opt, Ref, StatusTriple, Timestamp } from './common.ts';
import { HostSelectorText } from './host-selector-text.ts';
import { SSH_KEY_MAX_LENGTH } from './ssh-key.ts';

// Node configuration (issue 14): local accounts and custom configs, declared for a region, a site
// or an instance, delivered to every host under it, applied by the agent and reported back.

/** The keys of a node-config target, exactly one set: the checks, the manager's index and the CLI read this list. */
export const NODE_CONFIG_TARGET_KEYS = ['regionId', 'siteId', 'instanceId', 'selector'] as const;

/**
 * Where a local account or custom config applies: exactly one of regionId, siteId, instanceId, or
 * selector (an AIP-160 filter over the project's hosts, as schedules and telemetry profiles take).
 * A region covers its sub-regions' sites.
 */
export const NodeConfigTarget = Type.Object(
  { regionId: Opt(Ref('region')), siteId: Opt(Ref('site')), instanceId: Opt(Ref('inst')), selector: Opt(HostSelectorText) },
  { ...closed, description: 'Exactly one of regionId, siteId, instanceId, selector (a region covers its sub-regions)' },
);
export type NodeConfigTarget = Static<typeof NodeConfigTarget>;

export const USERNAME_PATTERN = '^[a-z_][a-z0-9_-]{0,31}$';
const GroupName = Type.String({ pattern: USERNAME_PATTERN });
const SshKeyText = Type.String({ minLength: 1, maxLength: SSH_KEY_MAX_LENGTH });

export const SudoPolicy = Type.Enum(['none', 'password', 'nopasswd']);
export const AccountState = Type.Enum(['present', 'absent']);

/** The most SSH keys one account holds. */
export const MAX_SSH_KEYS = 32;

export const LocalAccountSpec = Type.Object(
  {
    username: Type.String({ pattern: USERNAME_PATTERN }),
    /** One key (the original field): works as a one-key `sshKeys`. Set one of the two, not both. */
    sshKey: Opt(SshKeyText),
    sshKeys: Opt(Type.Array(SshKeyText, { maxItems: MAX_SSH_KEYS })),
    sudo: Opt(SudoPolicy),
    groups: Opt(Type.Array(GroupName, { maxItems: 32 })),
    shell: Opt(Type.String({ pattern: '^/[A-Za-z0-9._/+-]{1,127}$' })),
    /** absent: the account is removed from every node it reached. @default present */
    state: Opt(AccountState),
    /** Where it applies; without one it applies only through instances' localAccountId. */
    target: Opt(NodeConfigTarget),
  },
  closed,
);

export const CustomConfigSpec = Type.Object(
  {
    /** @default cloud-init */
    type: Opt(Type.Enum(['cloud-init', 'file'])),
    /** cloud-init: the `#cloud-config` document. */
    config: Opt(Type.String({ minLength: 1, maxLength: 65536 })),
    description: Opt(Type.String({ maxLength: 1024 })),
    /** file: an absolute path under /etc or /opt. */
    path: Opt(Type.String({ minLength: 2, maxLength: 255 })),
    /** file: octal permission bits. @default 0644 */
    mode: Opt(Type.String({ pattern: '^0?[0-7]{3}$' })),
    /** file: `user` or `user:group`. @default root:root */
    owner: Opt(Type.String({ pattern: '^[a-z_][a-z0-9_-]{0,31}(:[a-z_][a-z0-9_-]{0,31})?$' })),
    content: Opt(Type.String({ maxLength: 65536 })),
    /** once: run (cloud-init) the first time it reaches a node; on-change: again whenever it changes. @default on-change */
    runPolicy: Opt(Type.Enum(['once', 'on-change'])),
    target: Opt(NodeConfigTarget),
  },
  closed,
);

/** An account as the agent applies it (defaults filled in). */
export const NodeAccount = Type.Object(
  {
    username: Type.String({ pattern: USERNAME_PATTERN }),
    sshKeys: Type.Array(Type.String({ maxLength: SSH_KEY_MAX_LENGTH }), { maxItems: MAX_SSH_KEYS }),
    sudo: SudoPolicy,
    groups: Type.Array(GroupName, { maxItems: 32 }),
    shell: Opt(Type.String({ maxLength: 128 })),
    state: AccountState,
    /** The LocalAccount it comes from. */
    sourceId: Ref('localaccount'),
  },
  closed,
);
export type NodeAccount = Static<typeof NodeAccount>;

/** A custom config as the agent applies it. */
export const NodeConfigFile = Type.Object(
  {
    /** The CustomConfig it comes from. */
    sourceId: Ref('customconfig'),
    name: Type.String({ maxLength: 128 }),
    type: Type.Enum(['cloud-init', 'file']),
    runPolicy: Type.Enum(['once', 'on-change']),
    config: Opt(Type.String({ maxLength: 65536 })),
    path: Opt(Type.String({ maxLength: 255 })),
    mode: Opt(Type.String({ maxLength: 4 })),
    owner: Opt(Type.String({ maxLength: 65 })),
    content: Opt(Type.String({ maxLength: 65536 })),
  },
  closed,
);
export type NodeConfigFile = Static<typeof NodeConfigFile>;

/** Where one item of the effective set comes from. */
export const NodeConfigSource = Type.Object(
  {
    /** `account:<username>` or `config:<customconfig id>`. */
    item: Type.String({ maxLength: 160 }),
    resourceId: Type.String({ maxLength: 64 }),
    /** selector: a level between the site and the instances (a newer selector's resource is the more specific). */
    level: Type.Enum(['region', 'site', 'selector', 'instance']),
    /** The region, site or instance it targets, or the selector's text. */
    targetId: Type.String({ maxLength: 4096 }),
    /** target: its spec.target; instance: an instance's localAccountId or customConfigIds. */
    via: Type.Enum(['target', 'instance']),
    /** Less specific resources of the same item it overrides (the same username or file path). */
    overrides: Opt(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 })),
  },
  closed,
);
export type NodeConfigSource = Static<typeof NodeConfigSource>;

/** What the agent did with one item. */
export const NodeConfigItemResult = Type.Object(
  {
    /** `account:<username>` or `config:<customconfig id>`. */
    item: Type.String({ maxLength: 160 }),
    /** dry-run: the agent runs without --allow-node-config and reports what it would have run. */
    state: Type.Enum(['applied', 'removed', 'dry-run', 'failed']),
    message: Opt(Type.String({ maxLength: 1024 })),
    /** For failed: the agent tries again (true) or waits for a new version (false). */
    recoverable: Opt(Type.Boolean()),
    wouldRun: Opt(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 32 })),
  },
  closed,
);
export type NodeConfigItemResult = Static<typeof NodeConfigItemResult>;

export const NODE_CONFIG_LIMITS = { accounts: 64, configs: 32, items: 128, sources: 192, conflicts: 32 } as const;

/** Two resources giving one host the same item at the same level: the older one is kept. */
export const NodeConfigConflict = Type.Object(
  { item: Type.String({ maxLength: 160 }), keptId: Type.String({ maxLength: 64 }), ignoredId: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 1024 }) },
  closed,
);

/** `status.nodeConfig` of a host: the effective set the node-config manager computed, and what the agent made of it. */
export const HostNodeConfig = Type.Object(
  {
    /** Content hash of accounts and configs. */
    version: Type.String({ maxLength: 128 }),
    accounts: Type.Array(NodeAccount, { maxItems: NODE_CONFIG_LIMITS.accounts }),
    configs: Type.Array(NodeConfigFile, { maxItems: NODE_CONFIG_LIMITS.configs }),
    sources: Type.Array(NodeConfigSource, { maxItems: NODE_CONFIG_LIMITS.sources }),
    conflicts: Opt(Type.Array(NodeConfigConflict, { maxItems: NODE_CONFIG_LIMITS.conflicts })),
    /** The version the agent last applied (with failed items, if `applyStatus` says so). */
    appliedVersion: Opt(Type.String({ maxLength: 128 })),
    appliedAt: Opt(Timestamp),
    /** Per item, what the agent did with appliedVersion. */
    items: Opt(Type.Array(NodeConfigItemResult, { maxItems: NODE_CONFIG_LIMITS.items })),
    /** in_progress while the agent has not applied `version`; error naming the failed items; idle when all applied. */
    applyStatus: Opt(StatusTriple),
  },
  closed,
);
export type HostNodeConfig = Static<typeof HostNodeConfig>;

/** POST /southbound/v1/node-config (agent token): what the agent did with a version of its node config. */
export const NodeConfigReport = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 128 }),
    items: Type.Array(NodeConfigItemResult, { maxItems: NODE_CONFIG_LIMITS.items }),
  },
  closed,
);
export type NodeConfigReport = Static<typeof NodeConfigReport>;

/** The `node-config` stream event's data: the effective set of `status.nodeConfig`. */
export const NodeConfigPayload = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 128 }),
    accounts: Type.Array(NodeAccount, { maxItems: NODE_CONFIG_LIMITS.accounts }),
    configs: Type.Array(NodeConfigFile, { maxItems: NODE_CONFIG_LIMITS.configs }),
  },
  closed,
);
export type NodeConfigPayload = Static<typeof NodeConfigPayload>;

/**
 * The host's node-config status triple from the effective set and the agent's last report:
 * error for conflicts or failed items (naming them), in_progress while the agent has not applied
 * the current version, idle otherwise (saying when it was a dry run).
 * @example nodeConfigApplyStatus({ version: 'a', appliedVersion: 'a', items: [], accounts: [], configs: [] }, new Date())
 */
export function nodeConfigApplyStatus(
  nc: Pick<HostNodeConfig, 'version' | 'appliedVersion' | 'items' | 'conflicts' | 'accounts' | 'configs'>,
  now: Date,
): StatusTriple {
  const at = now.toISOString();
  const triple = (indicator: StatusTriple['indicator'], message: string): StatusTriple => ({ indicator, message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message, timestamp: at });
  const more = (n: number) => (n > 1 ? ` (and ${n - 1} more)` : '');
  if (nc.conflicts?.length) return triple('error', `conflict: ${nc.conflicts[0].message}${more(nc.conflicts.length)}`);
  if (nc.appliedVersion !== nc.version) return triple('in_progress', `version ${nc.version} is on its way to the agent${nc.appliedVersion ? ` (it applied ${nc.appliedVersion})` : ''}`);
  const failed = (nc.items ?? []).filter((i) => i.state === 'failed');
  if (failed.length > 0) {
    const f = failed[0];
    return triple('error', `${f.item} failed: ${f.message ?? 'no reason given'}${f.recoverable ? ' (the agent retries)' : ' (not retried until the spec changes)'}${more(failed.length)}`);
  }
  const what = `${nc.accounts.length} account${nc.accounts.length === 1 ? '' : 's'}, ${nc.configs.length} config${nc.configs.length === 1 ? '' : 's'}`;
  const dry = (nc.items ?? []).filter((i) => i.state === 'dry-run').length;
  if (dry > 0) return triple('idle', `dry run of version ${nc.version} (${what}): the agent runs without --allow-node-config and reported what it would run for ${dry} item${dry === 1 ? '' : 's'}`);
  return triple('idle', `applied version ${nc.version} (${what})`);
}

/**
 * "1 conflict, 2 items failed": what is wrong with a host's node configuration, counted (the
 * details are listed one by one next to it), or undefined when nothing is.
 * @example nodeConfigProblems(0, 1) // '1 item failed'
 */
export function nodeConfigProblems(conflicts: number, failed: number): string | undefined {
  const parts = [
    conflicts > 0 ? `${conflicts} conflict${conflicts === 1 ? '' : 's'}` : '',
    failed > 0 ? `${failed} item${failed === 1 ? '' : 's'} failed` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : undefined;
}
