import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.ts';

/** One batch waiting to be sent, numbered in its stream. */
export interface BufferedBatch {
  seq: number;
  signal: 'metrics' | 'logs';
  /** The OTLP/HTTP JSON body. */
  body: string;
  /** Log cursors this batch moves to (saved once it is sent or dropped). */
  cursors?: Record<string, string>;
}

interface BufferState {
  stream: string;
  nextSeq: number;
  dropped: number;
  cursors: Record<string, string>;
}

/**
 * The agent's telemetry outbox: batches in order, bounded by bytes (`maxBytes`; past it the oldest
 * go first, and `dropped` counts them), sent oldest first and removed once the server has them.
 * With a directory it lives on disk (a file per batch, written atomically, and `state.json`), so a
 * restart sends what was waiting and no log line is read twice or skipped: a batch carries the log
 * cursors it moves to, and they become the saved cursors once it is gone. Without one, in memory
 * (the simulator).
 * @example const b = new TelemetryBuffer({ dir: '/var/lib/eim-agent/telemetry', maxBytes: 64 << 20 }); b.add('metrics', body)
 */
export class TelemetryBuffer {
  private readonly dir?: string;
  private readonly maxBytes: number;
  private state: BufferState;
  private readonly batches: (BufferedBatch & { bytes: number })[] = [];
  private bytes = 0;

  constructor(o: { dir?: string; maxBytes: number }) {
    this.dir = o.dir;
    this.maxBytes = o.maxBytes;
    this.state = { stream: randomUUID().slice(0, 8), nextSeq: 1, dropped: 0, cursors: {} };
    if (this.dir) this.load(this.dir);
  }

  /** The stream the sequence numbers belong to (a new data dir starts a new one). */
  get stream(): string {
    return this.state.stream;
  }

  /** Batches dropped, oldest first, to stay within the bound (since the buffer was made). */
  get dropped(): number {
    return this.state.dropped;
  }

  get size(): number {
    return this.batches.length;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** The saved cursor of a log group, moved on by the newest waiting batch that carries one. */
  cursor(group: string): string | undefined {
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const c = this.batches[i].cursors?.[group];
      if (c !== undefined) return c;
    }
    return this.state.cursors[group];
  }

  /** Appends a batch (on disk first, when there is a directory); drops the oldest past the bound. */
  add(signal: 'metrics' | 'logs', body: string, cursors?: Record<string, string>): BufferedBatch {
    const batch = { seq: this.state.nextSeq++, signal, body, ...(cursors && Object.keys(cursors).length > 0 ? { cursors } : {}) };
    const bytes = Buffer.byteLength(body) + 64;
    if (this.dir) writeFileAtomic(this.file(batch.seq), JSON.stringify(batch));
    this.batches.push({ ...batch, bytes });
    this.bytes += bytes;
    while (this.bytes > this.maxBytes && this.batches.length > 1) {
      this.remove(this.batches[0]);
      this.state.dropped++;
    }
    this.save();
    return batch;
  }

  /** The oldest waiting batch. */
  peek(): BufferedBatch | undefined {
    return this.batches[0];
  }

  /** The batch was sent (or refused for good): forget it. */
  ack(seq: number, refused = false): void {
    const b = this.batches.find((x) => x.seq === seq);
    if (!b) return;
    this.remove(b);
    if (refused) this.state.dropped++;
    this.save();
  }

  private remove(b: BufferedBatch & { bytes: number }): void {
    if (b.cursors) Object.assign(this.state.cursors, b.cursors);
    this.batches.splice(this.batches.indexOf(b), 1);
    this.bytes -= b.bytes;
    if (this.dir) rmSync(this.file(b.seq), { force: true });
  }

  private file(seq: number): string {
    return path.join(this.dir!, `${String(seq).padStart(15, '0')}.json`);
  }

  private save(): void {
    if (this.dir) writeFileAtomic(path.join(this.dir, 'state.json'), JSON.stringify(this.state));
  }

  private load(dir: string): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      const s = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as BufferState;
      if (typeof s.stream === 'string' && Number.isInteger(s.nextSeq)) this.state = { stream: s.stream, nextSeq: s.nextSeq, dropped: s.dropped ?? 0, cursors: s.cursors ?? {} };
    } catch {
      // no state yet (or unreadable): a new stream
    }
    for (const f of readdirSync(dir).filter((x) => /^\d{15}\.json$/.test(x)).sort()) {
      try {
        const b = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as BufferedBatch;
        const bytes = statSync(path.join(dir, f)).size;
        this.batches.push({ ...b, bytes });
        this.bytes += bytes;
        if (b.seq >= this.state.nextSeq) this.state.nextSeq = b.seq + 1;
      } catch {
        rmSync(path.join(dir, f), { force: true }); // a torn file cannot be: writes are atomic; an unreadable one is dropped
      }
    }
  }
}
