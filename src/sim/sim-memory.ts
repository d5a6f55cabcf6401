import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What the simulator remembers of one node across its runs. */
export interface SimNodeMemory {
  /** The node's host was invalidated or deleted: its agent token was revoked. The node stays off. */
  revokedAt?: string;
  revokedReason?: string;
  hostId?: string;
  /** The OS its last install or update left it with, so its hardware reports it after a restart. */
  os?: { name?: string; version?: string; kernel?: string; osId?: string };
}

interface MemoryFile {
  version: 1;
  /** Per server and project: the same prefix against another server is another fleet. */
  fleets: Record<string, { nodes: Record<string, SimNodeMemory> }>;
}

/** Writes wait this long, so a fleet enrolling at once writes the file once, not once per node. */
const WRITE_DELAY_MS = 500;

/**
 * The simulator's memory of its nodes, kept in a JSON file across runs (or only in memory without
 * one): which nodes had their identity revoked (a deleted or invalidated host) and so stay off,
 * and which OS each runs. Writes are gathered and atomic (a temp file renamed over the old one).
 * @example const mem = new SimMemory('/tmp/sim/fleet.json', 'http://127.0.0.1:8080 default'); mem.get(3)?.revokedAt
 */
export class SimMemory {
  private readonly data: MemoryFile;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly file: string | undefined,
    private readonly scope: string,
  ) {
    this.data = { version: 1, fleets: {} };
    if (!file) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`cannot read the simulator's memory ${file}: ${(e as Error).message}`);
    }
    try {
      const parsed = JSON.parse(text) as MemoryFile;
      if (parsed?.version !== 1 || typeof parsed.fleets !== 'object') throw new Error('not a simulator memory file (version 1)');
      this.data = parsed;
    } catch (e) {
      throw new Error(`the simulator's memory ${file} is damaged (${(e as Error).message}): delete it to start over`);
    }
  }

  private get nodes(): Record<string, SimNodeMemory> {
    return (this.data.fleets[this.scope] ??= { nodes: {} }).nodes;
  }

  get(index: number): SimNodeMemory | undefined {
    return this.nodes[String(index)];
  }

  /** Merges what is known of a node (undefined fields removed) and saves soon. */
  update(index: number, patch: Partial<SimNodeMemory>): void {
    const next: SimNodeMemory = { ...this.nodes[String(index)], ...patch };
    for (const k of Object.keys(next) as (keyof SimNodeMemory)[]) if (next[k] === undefined) delete next[k];
    this.nodes[String(index)] = next;
    this.schedule();
  }

  /** Forgets every revocation (the nodes come back as new machines). Returns how many were forgotten. */
  forgetRevoked(): number {
    let n = 0;
    for (const m of Object.values(this.nodes)) {
      if (m.revokedAt) {
        delete m.revokedAt;
        delete m.revokedReason;
        delete m.hostId;
        n++;
      }
    }
    if (n > 0) this.schedule();
    return n;
  }

  /** Writes now what is pending. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 1)}\n`);
    renameSync(tmp, this.file);
  }

  private schedule(): void {
    if (!this.file || this.timer) return;
    this.timer = setTimeout(() => this.flush(), WRITE_DELAY_MS);
    this.timer.unref();
  }
}
