import type { BenchDialect, BenchOptions } from './bench-options.ts';
import { withInventory } from './in-process-inventory.ts';
import { rawPgInsertRate } from './raw-pg.ts';
import { rawSqliteInsertRate } from './raw-sqlite.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { median, pct, runNotes } from './row-notes.ts';
import { machineNote } from './proc-stats.ts';
import { freshTarget } from './store-target.ts';
import { writeThroughput } from './write-throughput.ts';
import { inProcessWriter } from './writer.ts';

export interface InProcessResults {
  rows: ResultRow[];
  /** Median raw insert rate by writer count (SQLite: always 1). */
  raw: Map<number, number>;
  /** In-process writes/s by `<op>/<clients>`. */
  inProcess: Map<string, number>;
}

/**
 * Baselines and in-process durable writes. Each raw run happens right before the in-process run
 * it is compared with, so both see the same disk and the same neighbours on the machine.
 * @example const r = await inProcessScenario('sqlite', options, [1, 16])
 */
export async function inProcessScenario(dialect: BenchDialect, o: Readonly<BenchOptions>, clientCounts: number[], tag: string): Promise<InProcessResults> {
  const withBaseline = o.scenarios.includes('baseline');
  const withInProcess = o.scenarios.includes('inprocess');
  const rawRuns = new Map<number, number[]>();
  const pairedRaw = new Map<string, number>();
  const inProcess = new Map<string, number>();
  const inProcessRows: ResultRow[] = [];
  const writersFor = (clients: number) => (dialect === 'sqlite' ? 1 : clients);

  const baseTarget = await freshTarget(dialect);
  try {
    const measureRaw = async (clients: number): Promise<number> => {
      const c = writersFor(clients);
      process.stderr.write(`[${dialect}] baseline: raw ${dialect === 'sqlite' ? 'better-sqlite3' : 'pg'} inserts, ${c} writer(s)\n`);
      const rate = dialect === 'sqlite' ? rawSqliteInsertRate(baseTarget.dataDir, o.warmupMs, o.durationMs) : (await rawPgInsertRate(baseTarget.store!, c, o.warmupMs, o.durationMs)).rate;
      rawRuns.set(c, [...(rawRuns.get(c) ?? []), rate]);
      return rate;
    };
    if (!withInProcess) {
      for (const c of new Set(clientCounts.map(writersFor))) await measureRaw(c);
    } else {
      const target = await freshTarget(dialect);
      try {
        process.stderr.write(`[${dialect}] in-process writes\n`);
        const runs = await withInventory(target, (inv) =>
          writeThroughput({
            writer: inProcessWriter(inv),
            clientCounts,
            warmupMs: o.warmupMs,
            durationMs: o.durationMs,
            tag,
            cpuPids: [process.pid],
            beforeEach: withBaseline ? async (op, clients) => void pairedRaw.set(`${op}/${clients}`, await measureRaw(clients)) : undefined,
          }),
        );
        for (const run of runs) {
          inProcess.set(`${run.op}/${run.clients}`, run.result.rate);
          const base = pairedRaw.get(`${run.op}/${run.clients}`);
          inProcessRows.push({
            metric: `${run.op}, in-process, ${run.clients} client${run.clients > 1 ? 's' : ''}`,
            dialect,
            value: run.result.rate,
            unit: 'writes/s',
            baseline: base ? { value: base, label: 'raw, just before' } : undefined,
            target: dialect === 'sqlite' && base ? { op: '>=', value: base / 2, label: '50 % of raw' } : undefined,
            notes: runNotes(run.result, [`bench CPU ${pct(run.cpu[0])}`, machineNote(run.machine)]),
          });
        }
      } finally {
        await target.remove();
      }
    }
  } finally {
    await baseTarget.remove();
  }

  const raw = new Map([...rawRuns].map(([c, rates]) => [c, median(rates)]));
  const how = dialect === 'sqlite' ? 'better-sqlite3, WAL, synchronous=FULL, one writer' : 'pg 8, prepared INSERT';
  const baselineRows: ResultRow[] = [...rawRuns].map(([c, rates]) => ({
    metric: dialect === 'sqlite' ? 'raw insert, 1 row/txn (baseline)' : `raw insert, autocommit, ${c} conn${c > 1 ? 's' : ''} (baseline)`,
    dialect,
    value: raw.get(c)!,
    unit: 'writes/s',
    notes: `${how}; median of ${rates.length} run(s): ${rates.map((r) => fmt(r)).join(', ')}`,
  }));
  return { rows: [...baselineRows, ...inProcessRows], raw, inProcess };
}
