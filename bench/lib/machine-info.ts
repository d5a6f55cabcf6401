import os from 'node:os';
import pg from 'pg';
import { PG_URL } from '../../src/testing/test-stores.ts';

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGb: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started: other work on the machine skews every number. */
  loadAvg: number;
  /** `select version()`, and the durability settings that decide commit cost. */
  postgres?: string;
  postgresDurability?: string;
}

/**
 * What the numbers were measured on.
 * @example const m = await machineInfo(true)
 */
export async function machineInfo(withPostgres: boolean): Promise<MachineInfo> {
  const info: MachineInfo = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    ramGb: os.totalmem() / 2 ** 30,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadAvg: os.loadavg()[0],
  };
  if (!withPostgres) return info;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    info.postgres = (await c.query<{ version: string }>('select version()')).rows[0].version;
    const settings = await c.query<{ name: string; setting: string }>(
      "select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers') order by name",
    );
    info.postgresDurability = settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ');
  } finally {
    await c.end();
  }
  return info;
}
