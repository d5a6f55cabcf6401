import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EIM_BIN = fileURLToPath(new URL('../../bin/eim.js', import.meta.url));

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  token: string;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `eim server` as a real process on a free port and waits until it listens.
 * @example const s = await spawnServer(['--data-dir', dir]); … await s.kill('SIGKILL')
 */
export async function spawnServer(args: string[], timeoutMs = 20_000): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [EIM_BIN, 'server', '--port', '0', '--log-level', 'info', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`eim server did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /eim listening on (https?:\/\/[^\s"]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`eim server exited with ${code}:\n${out}`));
    });
  });
  const dataDir = args[args.indexOf('--data-dir') + 1];
  const tokenFile = join(dataDir, 'admin.token');
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  return {
    proc,
    url,
    token,
    output: () => out,
    kill: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
}
