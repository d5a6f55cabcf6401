import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `eim login` saves. */
export interface CliConfig {
  server?: string;
  token?: string;
  project?: string;
  /** A CA file (absolute path) trusted for the server, besides Node's root certificates. */
  caFile?: string;
}

/**
 * Where the config lives: `$EIM_CONFIG`, else `$XDG_CONFIG_HOME/eim/config.json`, else
 * `~/.config/eim/config.json`.
 */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EIM_CONFIG) return env.EIM_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'eim', 'config.json');
}

/** The saved config; empty when there is none. A file that is not JSON is an error worth hearing. */
export function loadConfig(path: string = configPath()): CliConfig {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}): fix it or run eim login again`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${path} must hold a JSON object: run eim login again`);
  const c = parsed as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return { server: str(c.server), token: str(c.token), project: str(c.project), caFile: str(c.caFile) };
}

/** Writes the config atomically, readable by its owner only (it holds a token). */
export function saveConfig(config: CliConfig, path: string = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
