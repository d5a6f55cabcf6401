import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import type { NodeConfigMemory } from './executor/node-config-apply.ts';

/** What the agent keeps across restarts (`<data-dir>/agent.json`, mode 0600). */
export interface AgentState {
  server: string;
  hostId: string;
  project: string;
  /** The host-bound agent token. Removed when the server revokes it. */
  token?: string;
  enrolledAt: string;
  /** sha256 of the enrollment token it enrolled with: after a revocation that one may not be used again. */
  enrollmentTokenSha256?: string;
  revokedAt?: string;
  revokedReason?: string;
  /** When the agent found its token expired (it enrols again with an enrollment token). */
  expiredAt?: string;
  configVersion?: string;
  osId?: string;
  /** The node configuration applied last, and what eim made on the node (to remove exactly that). */
  nodeConfig?: NodeConfigMemory & { appliedVersion?: string };
}

/** Loads and saves AgentState: a file for the real agent, memory for the simulator. */
export interface AgentStateStore {
  /** For messages: where the state lives. */
  readonly location: string;
  load(): AgentState | undefined;
  save(state: AgentState): void;
}

/** Thrown when agent.json exists but cannot be read: the agent will not silently enroll again. */
export class AgentStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentStateError';
  }
}

/**
 * `<dataDir>/agent.json`, written atomically with mode 0600; a looser mode found on load is
 * tightened (and `onWarning` hears of it).
 * @example new FileStateStore('/var/lib/eim-agent').load()
 */
export class FileStateStore implements AgentStateStore {
  readonly location: string;

  constructor(
    dataDir: string,
    private readonly onWarning: (message: string) => void = () => {},
  ) {
    this.location = path.join(dataDir, 'agent.json');
  }

  load(): AgentState | undefined {
    let text: string;
    try {
      text = readFileSync(this.location, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AgentStateError(`cannot read ${this.location}: ${(e as Error).message}`, { cause: e });
    }
    const mode = statSync(this.location).mode & 0o777;
    if (mode !== 0o600) {
      chmodSync(this.location, 0o600);
      this.onWarning(`${this.location} had mode ${mode.toString(8)}; set it to 600 (it holds the agent token)`);
    }
    try {
      const state = JSON.parse(text) as AgentState;
      if (typeof state.hostId !== 'string' || typeof state.server !== 'string') throw new Error('hostId or server missing');
      return state;
    } catch (e) {
      throw new AgentStateError(`${this.location} is damaged (${(e as Error).message}): repair it, or delete it to enroll again with a new enrollment token`, { cause: e });
    }
  }

  save(state: AgentState): void {
    writeFileAtomic(this.location, JSON.stringify(state, null, 2) + '\n');
  }
}

/** State in memory only (the fleet simulator; tests). */
export class MemoryStateStore implements AgentStateStore {
  readonly location = 'the in-memory agent state';
  constructor(private state?: AgentState) {}
  load(): AgentState | undefined {
    return this.state && { ...this.state };
  }
  save(state: AgentState): void {
    this.state = { ...state };
  }
}
