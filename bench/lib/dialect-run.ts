import type { BenchDialect, BenchOptions } from './bench-options.ts';
import { boundsScenario } from './bounds-cost.ts';
import type { ResultRow } from './result-row.ts';
import { runTag } from './sample-host.ts';
import { httpScenario } from './scenario-http.ts';
import { inProcessScenario } from './scenario-in-process.ts';
import { restartScenario } from './scenario-restart.ts';

export interface DialectResults {
  rows: ResultRow[];
  /** Markdown lines with what the table has no room for. */
  details: string[];
}

const CLIENTS = [1, 16];

/**
 * Every scenario the options ask for on one dialect, each on a fresh store removed afterwards.
 * @example const { rows } = await runDialect('sqlite', options)
 */
export async function runDialect(dialect: BenchDialect, o: Readonly<BenchOptions>): Promise<DialectResults> {
  const on = (s: BenchOptions['scenarios'][number]) => o.scenarios.includes(s);
  const tag = runTag();
  const rows: ResultRow[] = [];
  const details: string[] = [];
  let raw = new Map<number, number>();
  let inProcess = new Map<string, number>();
  if (on('baseline') || on('inprocess')) {
    const r = await inProcessScenario(dialect, o, CLIENTS, tag);
    rows.push(...r.rows);
    raw = r.raw;
    inProcess = r.inProcess;
  }
  if (on('http') || on('watch')) rows.push(...(await httpScenario(dialect, o, CLIENTS, inProcess, tag)));
  if (on('bounds')) rows.push(...(await boundsScenario(dialect, o, tag)));
  if (on('restart')) {
    const r = await restartScenario(dialect, o, raw.get(1), tag);
    rows.push(...r.rows);
    details.push(...r.details);
  }
  return { rows, details };
}
