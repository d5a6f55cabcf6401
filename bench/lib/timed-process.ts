import { spawn } from 'node:child_process';
import { trackChild } from './cleanup.ts';
import { monoMs } from './clock.ts';
import { REPO_ROOT } from './server-process.ts';

export interface TimedRun {
  /** Spawn → the process exited (ms). */
  exitMs: number;
  /** Spawn → the first complete line on stdout (ms); NaN when it printed none. */
  firstLineMs: number;
  /** Lines written to stdout. */
  lines: number;
  code: number | null;
  stderr: string;
}

/**
 * Runs `node <args>` from the repository root and times it from spawn to exit, and to its first
 * line on stdout (a pipe: no TTY, so no colour and no pager).
 * @example const r = await timedNode(['bin/eim.js', 'get', 'hosts'], { EIM_SERVER: url })
 */
export function timedNode(args: string[], env: Record<string, string> = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const t0 = monoMs();
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let firstLineMs = Number.NaN;
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (Number.isNaN(firstLineMs) && chunk.includes(10)) firstLineMs = monoMs() - t0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    // 'exit' is when the process ended; 'close' waits for its pipes too, so every line is counted.
    let exitMs = 0;
    child.once('exit', () => (exitMs = monoMs() - t0));
    child.once('close', (code) => resolve({ exitMs, firstLineMs, lines, code, stderr }));
  });
}
