import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childArgs } from './child-bundle.ts';
import { trackChild } from './cleanup.ts';
import { REPO_ROOT } from './server-process.ts';
import { clientTokens } from './client-tokens.ts';

const CHILD = fileURLToPath(new URL('./watcher-child.ts', import.meta.url));

export interface WatcherLog {
  revisions: Float64Array;
  /** Monotonic receive time (ms) of each revision. */
  times: Float64Array;
}

/**
 * SSE watchers spread over `procs` child processes (bench/lib/watcher-child.ts), each with a
 * viewer token shared by at most 32 of them (see client-tokens.ts).
 * @example const pool = await WatcherPool.open(url, token, 100, 2); …; const logs = await pool.collect(); pool.close()
 */
export class WatcherPool {
  private constructor(private readonly children: ChildProcess[]) {}

  get pids(): number[] {
    return this.children.map((c) => c.pid!);
  }

  static async open(url: string, adminToken: string, watchers: number, procs: number): Promise<WatcherPool> {
    const n = Math.max(1, Math.min(procs, watchers));
    const args = await childArgs(CHILD);
    const children = Array.from({ length: n }, () => {
      const c = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
      trackChild(c);
      return c;
    });
    const pool = new WatcherPool(children);
    const watchUrl = `${url}/v1/projects/default/watch`;
    const tokens = await clientTokens(url, adminToken, 'viewer', watchers, 32);
    let from = 0;
    await Promise.all(
      children.map((c, i) => {
        const count = Math.floor(watchers / n) + (i < watchers % n ? 1 : 0);
        from += count;
        return pool.ask(c, { cmd: 'open', url: watchUrl, tokens: tokens.slice(from - count, from) }, 'opened');
      }),
    );
    return pool;
  }

  /** The lowest revision that every watcher has received. */
  async lowest(): Promise<number> {
    const answers = await Promise.all(this.children.map((c) => this.ask<{ lowest: number }>(c, { cmd: 'progress' }, 'progress')));
    return Math.min(...answers.map((a) => a.lowest));
  }

  /** Every watcher's log since it opened (or since the last collect). */
  async collect(): Promise<WatcherLog[]> {
    const answers = await Promise.all(this.children.map((c) => this.ask<{ watchers: WatcherLog[] }>(c, { cmd: 'collect' }, 'results')));
    return answers.flatMap((a) => a.watchers);
  }

  close(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }

  private ask<T>(child: ChildProcess, message: object, answer: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type !== answer && m.type !== 'error') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (m.type === 'error') reject(new Error(`watcher process: ${m.message}`));
        else resolve(m as T);
      };
      const onExit = () => reject(new Error('a watcher process exited'));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(message);
    });
  }
}
