import { join } from 'node:path';
import Database from 'better-sqlite3';

/** What the store says about agent tokens, per host: how enrolments went. */
export interface AgentTokenCensus {
  /** Hosts with at least one agent token. */
  hosts: number;
  /** Hosts that were issued more than one agent token (enrolled more than once). */
  reissued: number;
  /** Hosts whose every agent token is revoked: their agent cannot call in any more. */
  allRevoked: number;
}

/**
 * Reads the agent tokens of a SQLite store (read-only, beside the running server): one agent token
 * per enrolment, and enrolment revokes the host's earlier ones.
 * @example const c = agentTokenCensus(target.dataDir, lostHostIds)
 */
export function agentTokenCensus(dataDir: string, onlyHosts?: string[]): AgentTokenCensus {
  const db = new Database(join(dataDir, 'eim.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare("select host_id as host, count(*) as n, sum(revoked_at is null) as live from eim_tokens where role = 'agent' and host_id is not null group by host_id")
      .all() as { host: string; n: number; live: number }[];
    const wanted = onlyHosts ? new Set(onlyHosts) : undefined;
    const mine = wanted ? rows.filter((r) => wanted.has(r.host)) : rows;
    return { hosts: mine.length, reissued: mine.filter((r) => r.n > 1).length, allRevoked: mine.filter((r) => r.live === 0).length };
  } finally {
    db.close();
  }
}
