import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EIM_BIN, type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { until } from '../testing/until.ts';
import { saveConfig } from './cli-config.ts';

/** What one `eim` run did. */
export interface EimRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A real server and the real `eim` binary, configured through a temp EIM_CONFIG (never ~). */
export interface CliHarness {
  server: ServerProcess;
  /** The config file the runs use. */
  configPath: string;
  /** Writes the config `eim login` would write (the admin token), without running it. */
  login(): void;
  /** Runs `node bin/eim.js …args` to its end. */
  eim(args: string[], o?: { stdin?: string; env?: Record<string, string | undefined> }): Promise<EimRun>;
  /** Starts `eim …args` and leaves it running (watch); stdout accumulates in `output()`. */
  spawnEim(args: string[]): { proc: ChildProcess; output(): string; stop(): Promise<void>; exitCode(): number | null | undefined };
  close(): Promise<void>;
}

/**
 * For CLI tests: a server on a temp data dir and a runner for the binary with an environment
 * scrubbed of the caller's EIM_* settings. The config is empty until a test runs `eim login`.
 * @example const h = await startCliHarness(); const r = await h.eim(['get', 'hosts', '-o', 'json'])
 */
export async function startCliHarness(o: { managers?: boolean } = {}): Promise<CliHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'eim-cli-test-'));
  // By default the managers stay out: most tests drive resources by hand and count their events.
  const server = await spawnServer(['--data-dir', join(dir, 'data'), ...(o.managers ? [] : ['--managers', 'none'])]);
  const configPath = join(dir, 'config', 'config.json');
  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, EIM_CONFIG: configPath, NO_COLOR: '1' };
    for (const k of ['EIM_SERVER', 'EIM_TOKEN', 'EIM_PROJECT', 'COLUMNS', 'EIM_DEBUG', 'XDG_CONFIG_HOME']) delete e[k];
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) delete e[k];
      else e[k] = v;
    }
    return e;
  };
  const running = new Set<ChildProcess>();
  return {
    server,
    configPath,
    login: () => saveConfig({ server: server.url, token: server.token, project: 'default' }, configPath),
    eim: (args, o = {}) =>
      new Promise((resolve, reject) => {
        const proc = spawn(process.execPath, [EIM_BIN, ...args], { env: env(o.env), stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        proc.stdout.on('data', (b: Buffer) => (stdout += b));
        proc.stderr.on('data', (b: Buffer) => (stderr += b));
        proc.on('error', reject);
        proc.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
        proc.stdin.end(o.stdin ?? '');
      }),
    spawnEim: (args) => {
      const proc = spawn(process.execPath, [EIM_BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(proc);
      let out = '';
      proc.stdout!.on('data', (b: Buffer) => (out += b));
      proc.stderr!.on('data', (b: Buffer) => (out += b));
      let code: number | null | undefined; // undefined while it runs; null when a signal ended it
      const exited = new Promise<void>((r) => proc.once('exit', (c) => r(void (code = c))));
      return {
        proc,
        output: () => out,
        exitCode: () => code,
        stop: async () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          await exited;
          running.delete(proc);
        },
      };
    },
    close: async () => {
      for (const p of running) p.kill('SIGKILL');
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The shared `until`, every 50 ms: `check` reads a child process's output.
 * @example await eventually(() => /CREATED\s+apac/.test(w.output()), 'the created region')
 */
export const eventually = async (check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> => {
  await until(check, what, { timeoutMs, intervalMs: 50 });
};
