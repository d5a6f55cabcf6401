import { closedLoop, type ClosedLoopResult } from './closed-loop.ts';
import { cpuWhile } from './proc-stats.ts';
import type { Writer } from './writer.ts';

export interface WriteRun {
  op: 'create' | 'patch';
  clients: number;
  result: ClosedLoopResult;
  /** % of one core used by each of `cpuPids` during the run. */
  cpu: number[];
  /** The whole machine meanwhile (see cpuWhile). */
  machine: { busy: number; cores: number; postgres: number };
}

export interface WriteThroughputOptions {
  writer: Writer;
  clientCounts: number[];
  warmupMs: number;
  durationMs: number;
  /** Unique per run: names are `<tag>-<clients>-<client>-<seq>`. */
  tag: string;
  /** Processes whose CPU use to report (the server child, this process). */
  cpuPids: number[];
  /** Runs right before each measurement (a paired baseline, under the same conditions). */
  beforeEach?: (op: WriteRun['op'], clients: number) => Promise<void>;
}

const PATCH_POOL = 1000;

/**
 * Durable writes per second, closed loop: for each client count, creates, then label merge
 * patches spread over (up to) 1,000 of the Hosts just created.
 * @example await writeThroughput({ writer, clientCounts: [1, 16], warmupMs: 1000, durationMs: 5000, tag, cpuPids: [pid] })
 */
export async function writeThroughput(o: WriteThroughputOptions): Promise<WriteRun[]> {
  const runs: WriteRun[] = [];
  const ids: string[] = [];
  let patchSeq = 0;
  for (const clients of o.clientCounts) {
    await o.beforeEach?.('create', clients);
    const created = await cpuWhile(o.cpuPids, () =>
      closedLoop({
        clients,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
        label: `create, ${clients} clients`,
        op: async (c, seq) => {
          const r = await o.writer.create(`${o.tag}-${clients}-${c}-${seq}`, c);
          if (ids.length < PATCH_POOL) ids.push(r.id);
        },
      }),
    );
    runs.push({ op: 'create', clients, result: created.value, cpu: created.cpu, machine: created.machine });
    await o.beforeEach?.('patch', clients);
    const patched = await cpuWhile(o.cpuPids, () =>
      closedLoop({
        clients,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
        label: `patch, ${clients} clients`,
        op: (c, seq) => o.writer.patchLabel(ids[(seq * clients + c) % ids.length], String(++patchSeq), c),
      }),
    );
    runs.push({ op: 'patch', clients, result: patched.value, cpu: patched.cpu, machine: patched.machine });
  }
  return runs;
}
