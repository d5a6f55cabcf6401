import { ALL_PROJECTS, EimError } from '../api/index.ts';
import { KeyedCounts } from './keyed-counts.ts';

export interface WatchSlotsOptions {
  /** Open streams one token may hold. @default 64 */
  perToken?: number;
  /** Open streams of one project (every token watching it) in this server process. @default 250 */
  perProject?: number;
  /** Open streams in this server process, all tokens together. @default 1000 */
  total?: number;
}

/**
 * Counts the open watch streams of this server process, per token, per project watched and in all.
 * The project's share keeps one tenant (a project admin may mint many tokens) from taking every
 * slot of the server. A slot is taken synchronously, before the request awaits anything, so
 * concurrent opens cannot all pass the check; the release it returns is idempotent, so every exit
 * path may call it.
 * @example const release = slots.reserve(caller.tokenId ?? caller.subject, 'acme'); try { … } finally { release(); }
 */
export class WatchSlots {
  readonly perToken: number;
  readonly perProject: number;
  readonly total: number;
  private readonly byKey = new KeyedCounts();
  private readonly byProject = new KeyedCounts();
  private count = 0;

  constructor(options: WatchSlotsOptions = {}) {
    this.perToken = options.perToken ?? 64;
    this.perProject = options.perProject ?? 250;
    this.total = options.total ?? 1000;
  }

  /** Streams open now. */
  get open(): number {
    return this.count;
  }

  /**
   * Takes a slot for `key` (a token id) watching `project` (ALL_PROJECTS for every project):
   * `rate_limited` when the token or the project is full, `unavailable` when the server is.
   */
  reserve(key: string, project: string): () => void {
    if (this.byKey.held(key) >= this.perToken) {
      throw new EimError('rate_limited', `this token already holds ${this.perToken} open watch streams; close some (or use one stream with kinds=…)`, { details: { retryAfterSeconds: 5 } });
    }
    if (this.byProject.held(project) >= this.perProject) {
      const whose = project === ALL_PROJECTS ? 'streams over every project' : `project ${project}`;
      throw new EimError('rate_limited', `${whose} already holds ${this.perProject} open watch streams on this server, its share (--max-watch-streams-per-project); close some (or use one stream with kinds=…)`, {
        details: { retryAfterSeconds: 5 },
      });
    }
    if (this.count >= this.total) {
      throw new EimError('unavailable', `this server already serves ${this.total} watch streams, its limit (--max-watch-streams); retry later, or on another server`, { details: { retryAfterSeconds: 5 } });
    }
    const leave = this.byKey.add(key);
    const leaveProject = this.byProject.add(project);
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      leave();
      leaveProject();
    };
  }
}
