// The Inventory benchmark (issue 2): durable write rates, commit → watcher latency, restart after
// kill -9 and memory, on SQLite and PostgreSQL, each against a baseline measured in the same run.
// `npm run bench:inventory -- --help` lists the flags.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PG_URL, pgReachable } from '../src/testing/test-stores.ts';
import { compileBenchOptions } from './lib/bench-options.ts';
import { writeSection } from './lib/benchmarks-md.ts';
import { runCleanup } from './lib/cleanup.ts';
import { monoMs } from './lib/clock.ts';
import { runDialect } from './lib/dialect-run.ts';
import { machineInfo } from './lib/machine-info.ts';
import { sourceLine, sourceState } from './lib/bench-program.ts';
import { reportMarkdown } from './lib/report.ts';
import { passed, type ResultRow } from './lib/result-row.ts';
import { textTable } from './lib/result-table.ts';

const BENCHMARKS_MD = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

const options = compileBenchOptions(process.argv.slice(2));
// The Inventory alone, or the whole control plane: never one overwriting the other's numbers.
const section = options.managers === 'none' ? 'Inventory (issue 2)' : 'Inventory (issue 2), managers in-process';
const startedAt = new Date();
const sourceAtStart = sourceState();
const t0 = monoMs();
const rows: ResultRow[] = [];
const details: string[] = [];
let failed = false;

try {
  if (options.dialects.includes('postgres') && !(await pgReachable())) {
    throw new Error(`PostgreSQL is not reachable at ${PG_URL} (EIM_TEST_PG_URL); start it or run with --only sqlite`);
  }
  const machine = await machineInfo(options.dialects.includes('postgres'));
  for (const dialect of options.dialects) {
    const r = await runDialect(dialect, options);
    rows.push(...r.rows);
    details.push(...r.details);
  }
  const seconds = (monoMs() - t0) / 1000;
  process.stdout.write(`\n${textTable(rows)}\n`);
  const misses = rows.filter((r) => passed(r) === false);
  process.stdout.write(`${rows.filter((r) => r.target).length - misses.length} targets met, ${misses.length} missed; run took ${seconds.toFixed(0)} s; load average ${machine.loadAvg.toFixed(1)} → ${loadavg()[0].toFixed(1)}\n`);
  if (options.writeMarkdown) {
    writeSection(BENCHMARKS_MD, section, reportMarkdown({ options, machine, rows, details, startedAt, seconds, loadAvgAtEnd: loadavg()[0], source: sourceLine(sourceAtStart, sourceState()) }));
    process.stdout.write(`wrote the "${section}" section of ${BENCHMARKS_MD}\n`);
  } else {
    process.stdout.write('BENCHMARKS.md left alone (a subset run; pass --md to write it)\n');
  }
} catch (e) {
  failed = true;
  process.stderr.write(`bench:inventory failed: ${(e as Error).stack ?? e}\n`);
} finally {
  await runCleanup();
}
process.exit(failed ? 1 : 0);
