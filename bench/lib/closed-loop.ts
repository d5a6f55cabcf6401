import { monoMs } from './clock.ts';
import { type Distribution, distribution } from './percentiles.ts';

export interface ClosedLoopOptions {
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** One operation of client `client`; `seq` counts that client's operations from 0. */
  op: (client: number, seq: number) => Promise<void>;
  /** Said on stderr with the measured window's monotonic bounds (for bench/profile-window.ts). */
  label?: string;
}

export interface ClosedLoopResult {
  /** Operations completed inside the measured window, per second. */
  rate: number;
  ops: number;
  errors: number;
  firstError?: string;
  latency: Distribution;
}

/**
 * Runs `clients` loops that each issue the next operation as soon as the previous one answered.
 * Only operations that start and finish inside the window after the warm-up count.
 * @example await closedLoop({ clients: 16, warmupMs: 1000, durationMs: 5000, op: () => create() })
 */
export async function closedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const start = monoMs();
  const from = start + o.warmupMs;
  const until = from + o.durationMs;
  if (o.label) process.stderr.write(`[${o.label}] window (monotonic ms, for bench/profile-window.ts): --from=${Math.round(from)} --to=${Math.round(until)}\n`);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const client = async (c: number) => {
    for (let seq = 0; ; seq++) {
      const t0 = monoMs();
      if (t0 >= until) return;
      try {
        await o.op(c, seq);
        const t1 = monoMs();
        if (t0 >= from && t1 <= until) latencies.push(t1 - t0);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
        if (errors > 1000) throw new Error(`more than 1000 failed operations; the first: ${firstError}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  return { rate: latencies.length / (o.durationMs / 1000), ops: latencies.length, errors, firstError, latency: distribution(latencies) };
}
