import type { BenchDialect, BenchOptions } from './bench-options.ts';
import { restartAfterKill } from './restart-after-kill.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { median } from './row-notes.ts';
import { freshTarget } from './store-target.ts';
import { describeReady } from './time-to-ready.ts';

const CYCLES = 3;
const WATCHERS = 100;
const RESTART_TARGET_MS = 2000;
const RSS_TARGET_MB = 512;

/**
 * Restart after kill -9 with `o.resources` resources (median of 3 cycles, against starts on the
 * empty store), the durability of acknowledged writes across the kills, and RSS with 100 watches.
 * @example const { rows, details } = await restartScenario('sqlite', options, rawRate, tag)
 */
export async function restartScenario(dialect: BenchDialect, o: Readonly<BenchOptions>, rawSingle: number | undefined, tag: string): Promise<{ rows: ResultRow[]; details: string[] }> {
  const target = await freshTarget(dialect);
  try {
    const n = o.resources.toLocaleString('en-US');
    const loadMs = Math.min(2000, o.durationMs);
    process.stderr.write(`[${dialect}] restart after kill -9 and memory\n`);
    const r = await restartAfterKill({ target, resources: o.resources, cycles: CYCLES, watchers: WATCHERS, watcherProcs: o.watcherProcs, loadMs, cpuProfDir: o.cpuProfDir, managers: o.managers, tag });
    const totals = r.afterKill.map((b) => b.total);
    const slowest = r.afterKill[totals.indexOf(Math.max(...totals))];
    const rows: ResultRow[] = [
      {
        metric: `bulk create to ${n} (256 concurrent, in-process)`,
        dialect,
        value: r.fillRate,
        unit: 'writes/s',
        baseline: rawSingle ? { value: rawSingle, label: 'raw, 1 writer' } : undefined,
        notes: 'the fill for the restart run: group commit takes up to 512 writes per transaction',
      },
      {
        metric: `restart after kill -9, ${n} resources (median of ${CYCLES})`,
        dialect,
        value: median(totals),
        unit: 'ms',
        baseline: { value: median(r.emptyStarts.map((b) => b.total)), label: 'empty store, median' },
        target: { op: '<=', value: RESTART_TARGET_MS, label: 'spawn → readyz + list' },
        notes: `each: ${totals.map((t) => fmt(t)).join(', ')} ms; slowest: ${describeReady(slowest, fmt)}`,
      },
      {
        metric: 'acknowledged creates lost by kill -9',
        dialect,
        value: r.lost,
        unit: 'writes',
        target: { op: '<=', value: 0, label: 'durability' },
        notes: `${r.acked.toLocaleString('en-US')} creates acknowledged (201) before ${CYCLES} kills, 16 writers each; each name looked up after the restarts`,
      },
      {
        metric: `server RSS, ${n} resources + ${WATCHERS} watches`,
        dialect,
        value: r.memory.rssMb,
        unit: 'MB',
        baseline: { value: r.idleRssMb, label: 'idle, empty store' },
        target: { op: '<=', value: RSS_TARGET_MB, label: '' },
        notes: `peak (VmHWM) ${fmt(r.memory.peakMb)} MB; after ${fmt(loadMs / 1000)} s of 16-writer creates fanned out to the watches and one 1,000-item list`,
      },
    ];
    const details = [
      ...r.emptyStarts.map((b, i) => `- ${dialect}, empty store, start #${i + 1}: ${describeReady(b, fmt)}`),
      `- ${dialect}, clean start with ${n}: ${describeReady(r.cleanStart, fmt)}`,
      ...r.afterKill.map((b, i) => `- ${dialect}, after kill -9 #${i + 1} with ${n}: ${describeReady(b, fmt)}`),
    ];
    return { rows, details };
  } finally {
    await target.remove();
  }
}
