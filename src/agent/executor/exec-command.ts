import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell) and collects its output. Rejects only when it cannot start (not installed). */
export type ExecFn = (command: string, args: string[], options: { signal?: AbortSignal; env?: Record<string, string> }) => Promise<ExecResult>;

const MAX_OUTPUT = 64 * 1024;

/**
 * The real ExecFn: child_process.spawn, output capped at 64 KiB per stream (the tail is kept:
 * that is where errors are).
 * @example const { code } = await spawnExec('systemctl', ['reboot'], {})
 */
export const spawnExec: ExecFn = (command, args, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { signal: options.signal, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout = (stdout + c).slice(-MAX_OUTPUT)));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-MAX_OUTPUT)));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });

/** A command line as a person would type it (for dry runs and messages). */
export function commandLine(command: string, args: string[], env?: Record<string, string>): string {
  const q = (s: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [...Object.entries(env ?? {}).map(([k, v]) => `${k}=${q(v)}`), ...[command, ...args].map(q)].join(' ');
}
