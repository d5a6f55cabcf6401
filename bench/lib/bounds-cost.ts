import { join } from 'node:path';
import { assertStorableJson, jsonProblem, jsonTextTooDeep, MAX_BODY_DEPTH, serializedJsonProblem } from '../../src/api/index.ts';
import { InventoryService } from '../../src/inventory/index.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { BenchDialect, BenchOptions } from './bench-options.ts';
import { closedLoop } from './closed-loop.ts';
import { BENCH_ADMIN } from './in-process-inventory.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { median } from './row-notes.ts';
import { sampleHost } from './sample-host.ts';
import { freshTarget, type StoreTarget } from './store-target.ts';

const CLIENTS = 16;
const ROUNDS = 10;
type Mode = 'bounded' | 'unbounded';

/** Creates then label patches, `CLIENTS` closed loops, on the target's store with or without the bounds; writes/s of both together. */
async function writeRate(target: StoreTarget, mode: Mode, o: Readonly<BenchOptions>, tag: string): Promise<{ rate: number; cpuUs: number }> {
  const unbounded = mode === 'unbounded';
  const store = target.store ? await openPostgresStore(target.store, { unbounded }) : await openSqliteStore(join(target.dataDir, 'eim.db'), { unbounded });
  const service = new InventoryService(store, { unbounded });
  try {
    await service.start();
    await service.ensureProject('default');
    const inv = service.as(BENCH_ADMIN);
    const ids: string[] = [];
    // Short runs, many rounds: the machine's load changes less within one pair of runs.
    const durationMs = Math.max(1000, o.durationMs / 2);
    const cpu0 = process.cpuUsage();
    const created = await closedLoop({
      clients: CLIENTS,
      warmupMs: o.warmupMs,
      durationMs,
      op: async (c, seq) => {
        const r = await inv.create('default', 'Host', sampleHost(`${tag}-${mode}-${c}-${seq}`));
        if (ids.length < 1000) ids.push(r.id);
      },
    });
    let n = 0;
    const patched = await closedLoop({
      clients: CLIENTS,
      warmupMs: o.warmupMs,
      durationMs,
      op: async (c, seq) => void (await inv.update('default', 'Host', ids[(seq * CLIENTS + c) % ids.length], { labels: { seq: String(++n) } })),
    });
    const cpu = process.cpuUsage(cpu0);
    // CPU of this process per write, warm-ups included (they count writes too: ops covers the measured windows only, so scale by time).
    const writes = created.ops + patched.ops;
    const share = durationMs / (durationMs + o.warmupMs);
    return { rate: (created.rate + patched.rate) / 2, cpuUs: ((cpu.user + cpu.system) * share) / Math.max(1, writes) };
  } finally {
    await service.stop();
    await store.close();
  }
}

/** CPU time of every bound a northbound create passes (body depth and text, labels/spec depth and text, the stored JSON's text and size), per write. */
function checkMicroseconds(): number {
  const n = 10_000;
  const bodies = Array.from({ length: 100 }, (_, i) => sampleHost(`bounds-${i}`));
  const texts = bodies.map((b) => JSON.stringify(b));
  // The store serialises labels, spec and status anyway; only the checks of that text are timed.
  const stored = bodies.map((b) => [JSON.stringify(b.labels), JSON.stringify(b.spec), '{}']);
  let best = Number.POSITIVE_INFINITY;
  // The fastest of 5 passes: the machine's other work only ever adds time.
  for (let pass = 0; pass < 5; pass++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const body = bodies[i % 100];
      jsonTextTooDeep(texts[i % 100], MAX_BODY_DEPTH);
      jsonProblem(body, MAX_BODY_DEPTH, 'body');
      assertStorableJson(body.labels, 'labels');
      assertStorableJson(body.spec, 'spec');
      for (const json of stored[i % 100]) serializedJsonProblem(json);
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  return best;
}

/**
 * What the byte and depth bounds cost writes (issue 9): in-process creates and patches with the
 * bounds (depth and text checks, the resource size limit, the watch hub's byte budget) against the
 * same writes with them turned off (`unbounded`, an internal option of the store, the Inventory and
 * the hub), alternating rounds on two fresh stores so both see the same machine; the cost is the
 * median of the rounds' ratios. Plus the CPU time of the checks alone per write.
 * @example rows.push(...(await boundsScenario('sqlite', options, tag)))
 */
export async function boundsScenario(dialect: BenchDialect, o: Readonly<BenchOptions>, tag: string): Promise<ResultRow[]> {
  const targets: Record<Mode, StoreTarget> = { bounded: await freshTarget(dialect), unbounded: await freshTarget(dialect) };
  const rates: Record<Mode, number[]> = { bounded: [], unbounded: [] };
  const cpus: Record<Mode, number[]> = { bounded: [], unbounded: [] };
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order: Mode[] = round % 2 ? ['unbounded', 'bounded'] : ['bounded', 'unbounded'];
      const got: Partial<Record<Mode, { rate: number; cpuUs: number }>> = {};
      for (const mode of order) {
        process.stderr.write(`[${dialect}] bounds: round ${round + 1} of ${ROUNDS}, ${mode}\n`);
        got[mode] = await writeRate(targets[mode], mode, o, `${tag}-${round}`);
        rates[mode].push(got[mode]!.rate);
        cpus[mode].push(got[mode]!.cpuUs);
      }
      ratios.push(got.bounded!.rate / got.unbounded!.rate);
      cpuRatios.push(got.bounded!.cpuUs / got.unbounded!.cpuUs);
    }
  } finally {
    await targets.bounded.remove();
    await targets.unbounded.remove();
  }
  const cost = (1 - median(ratios)) * 100;
  const cpuCost = (median(cpuRatios) - 1) * 100;
  const perWrite = checkMicroseconds();
  const usPerWrite = median(cpus.unbounded);
  return [
    {
      metric: `cost of the byte and depth bounds: write throughput (create + patch, in-process, ${CLIENTS} clients)`,
      dialect,
      value: cost,
      unit: '%',
      target: { op: '<=', value: 5, label: 'at most 5 %' },
      notes: `with bounds ${rates.bounded.map(fmt).join(', ')} writes/s, without ${rates.unbounded.map(fmt).join(', ')} (alternating); median of ${ROUNDS} paired ratios; negative: faster with them, i.e. noise`,
    },
    {
      metric: 'cost of the byte and depth bounds: CPU per write (same runs)',
      dialect,
      value: cpuCost,
      unit: '%',
      target: { op: '<=', value: 5, label: 'at most 5 %' },
      notes: `with bounds ${cpus.bounded.map(fmt).join(', ')} µs, without ${cpus.unbounded.map(fmt).join(', ')} µs of this process's CPU per write; median of ${ROUNDS} paired ratios`,
    },
    {
      metric: 'CPU time of the bounds checks per create (body, labels, spec, stored JSON), alone',
      dialect,
      value: perWrite,
      unit: 'µs',
      target: { op: '<=', value: usPerWrite * 0.05, label: '5 % of the CPU per write' },
      notes: `a write takes ${fmt(usPerWrite)} µs of CPU without bounds, so the checks are ${((perWrite / usPerWrite) * 100).toFixed(1)} % of it`,
    },
  ];
}
