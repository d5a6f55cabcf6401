import type { NodeConfigItemResult, NodeConfigPayload } from '../../api/index.ts';

/**
 * What an agent remembers of the node configuration it applied (agent.json): the accounts and
 * files eim made, so it removes exactly those when they leave the set, and which cloud-init
 * documents ran (runPolicy once runs a document once; on-change when its content changes).
 */
export interface NodeConfigMemory {
  /** Usernames eim created or took over on this node. */
  accounts: string[];
  /** Files eim wrote, by the CustomConfig they came from. */
  files: { sourceId: string; path: string }[];
  /** cloud-init documents run: CustomConfig id → sha256 of the document run. */
  ran: Record<string, string>;
}

export const EMPTY_NODE_CONFIG_MEMORY: NodeConfigMemory = { accounts: [], files: [], ran: {} };

export interface NodeConfigApplyResult {
  items: NodeConfigItemResult[];
  memory: NodeConfigMemory;
}

/** An executor that can apply node configurations (issue 14). */
export interface NodeConfigExecutor {
  /**
   * Makes the node match `desired`, idempotently: accounts (present or absent), their keys, sudo
   * and groups; files and cloud-init documents; and removes what `previous` says eim made that
   * `desired` no longer holds. Never throws: every outcome is an item result (failed items say
   * whether trying again may help).
   */
  applyNodeConfig(desired: NodeConfigPayload, previous: NodeConfigMemory, signal: AbortSignal): Promise<NodeConfigApplyResult>;
}

/** Whether an executor applies node configurations. */
export function canApplyNodeConfig(e: object): e is NodeConfigExecutor {
  return typeof (e as Partial<NodeConfigExecutor>).applyNodeConfig === 'function';
}

/** The item name of an account (`account:<username>`) or a config (`config:<id>`). */
export const accountItem = (username: string) => `account:${username}`;
export const configItem = (sourceId: string) => `config:${sourceId}`;

/** Accounts and files `previous` holds that `desired` does not: eim made them, and they are to go. */
export function leftovers(desired: NodeConfigPayload, previous: NodeConfigMemory): { accounts: string[]; files: { sourceId: string; path: string }[] } {
  const names = new Set(desired.accounts.map((a) => a.username));
  const paths = new Set(desired.configs.filter((c) => c.type === 'file').map((c) => c.path));
  return { accounts: previous.accounts.filter((u) => !names.has(u)), files: previous.files.filter((f) => !paths.has(f.path)) };
}
