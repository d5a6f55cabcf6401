import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The checkpointing thread's code (CommonJS: an eval'd worker). Every `everyMs` it looks at the
 * WAL file and, when it changed since its last look, runs a PASSIVE checkpoint on its own
 * connection: it copies committed pages into the database file and syncs it, never waiting for
 * the writer, which goes on committing meanwhile.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
let db;
let last = '';
let quietUntil = 0;
let stopped = false;
const look = () => {
  if (stopped) return;
  let now = '';
  try {
    const s = statSync(workerData.file + '-wal');
    now = s.size + ':' + s.mtimeMs;
  } catch {
    return; // no WAL (yet)
  }
  if (now === last || Date.now() < quietUntil) return;
  try {
    if (!db) {
      db = new Database(workerData.file, { fileMustExist: true });
      db.pragma('synchronous = NORMAL');
    }
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    // Frames a reader still needed are copied at the next look, even without a write meanwhile.
    if (r.busy === 0 && r.checkpointed >= r.log) last = now;
  } catch (e) {
    // Said once, then tried again in 10 s (the writer's own checkpoints go on meanwhile).
    quietUntil = Date.now() + 10000;
    parentPort.postMessage(String(e && e.message || e));
  }
};
const timer = setInterval(look, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  stopped = true;
  clearInterval(timer);
  try { db?.close(); } catch {}
  parentPort.close();
});
`;

export interface CheckpointerOptions {
  /** How often the thread looks at the WAL. @default 200 */
  everyMs?: number;
  /** A checkpoint failed (the main connection's automatic checkpoints still run). */
  onError?: (message: string) => void;
}

/**
 * Checkpoints an SQLite database in WAL mode from a thread of its own. A checkpoint copies the
 * WAL's pages into the database file and syncs it: ~130 ms for 10,000 pages on a small VM, which
 * the writer's own automatic checkpoint spends on the event loop, stalling every request in
 * flight. With this thread keeping up, the automatic one finds little left to copy.
 * @example const cp = Checkpointer.start('.eim/eim.db'); … await cp.stop()
 */
export class Checkpointer {
  /** Resolves when the thread has exited (whenever that is: a second stop() finds it so). */
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }

  static start(file: string, options: CheckpointerOptions = {}): Checkpointer {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER, { eval: true, workerData: { file, driver, everyMs: options.everyMs ?? 200 } });
    worker.unref();
    const cp = new Checkpointer(worker);
    // The thread says only what failed.
    worker.on('message', (message: string) => options.onError?.(message));
    worker.on('error', (e) => options.onError?.(`the checkpoint thread failed: ${e.message}`));
    return cp;
  }

  /** Stops the thread (after the checkpoint it may be running) and closes its connection. */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
