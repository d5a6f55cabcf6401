import { monoMs, sleep } from './clock.ts';
import { clientTokens } from './client-tokens.ts';
import { HttpClient } from './http-client.ts';
import { type Distribution, distribution } from './percentiles.ts';
import { cpuWhile } from './proc-stats.ts';
import { sampleHost } from './sample-host.ts';
import type { ServerProcess } from './server-process.ts';
import { WatcherPool } from './watcher-pool.ts';

export interface WatchLatencyOptions {
  server: ServerProcess;
  watchers: number;
  watcherProcs: number;
  /** Paced writes per second. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  tag: string;
}

export interface WatchLatencyResult {
  watchers: number;
  /** Acknowledged writes per second in the measured window. */
  achievedRate: number;
  /** Watcher receive time − the writer's 201. */
  afterAck: Distribution;
  /** Watcher receive time − the scheduled send time. */
  afterSend: Distribution;
  /** Writer: 201 − scheduled send time. */
  writeLatency: Distribution;
  /** Scheduled writes not sent because a second's worth were still unanswered. */
  skipped: number;
  /** Events received / events expected (measured writes × watchers). */
  delivered: number;
  expected: number;
  writeErrors: number;
  /** % of one core: server, watcher processes (summed), this process. */
  cpu: { server: number; watchers: number; writer: number };
}

/**
 * Commit → watcher latency: `watchers` SSE streams (spread over child processes) while this process
 * creates Hosts over HTTP at a paced `rate` (open loop: a slow answer does not delay the next send,
 * and send times are the schedule's, so queueing counts; sends are skipped, and counted, while a
 * second's worth are unanswered). Watchers and writer stamp times on the
 * machine-wide monotonic clock; revisions (the SSE `id:` and the 201 body) join them.
 * @example await watchLatency({ server, watchers: 100, watcherProcs: 2, rate: 1000, warmupMs: 1000, durationMs: 5000, tag })
 */
export async function watchLatency(o: WatchLatencyOptions): Promise<WatchLatencyResult> {
  const pool = await WatcherPool.open(o.server.url, o.server.token, o.watchers, o.watcherProcs);
  // Four writer tokens: one would sit right at the server's 1,000 requests/s per token.
  const client = new HttpClient(o.server.url, await clientTokens(o.server.url, o.server.token, 'editor', 4), 16);
  try {
    const interval = 1000 / o.rate;
    const total = Math.round((o.warmupMs + o.durationMs) / interval);
    const measuredFrom = Math.round(o.warmupMs / interval);
    const sendAt = new Float64Array(total);
    const ackAt = new Float64Array(total).fill(NaN);
    const indexOf = new Map<number, number>();
    let writeErrors = 0;
    let skipped = 0;
    let open = 0;
    let lastRevision = 0;
    const inflight: Promise<void>[] = [];
    const fire = (i: number) => {
      // A bounded queue: with a second's worth of writes unanswered the server is saturated, and
      // piling on more would only measure how long the queue got.
      if (open >= o.rate) {
        if (i >= measuredFrom) skipped++;
        return;
      }
      open++;
      inflight.push(
        client.json<{ revision: number }>('POST', '/v1/projects/default/hosts', sampleHost(`${o.tag}-w${o.watchers}-${i}`), 201, i).then(
          (r) => {
            ackAt[i] = monoMs();
            indexOf.set(r.revision, i);
            lastRevision = Math.max(lastRevision, r.revision);
          },
          () => void writeErrors++,
        ).finally(() => open--),
      );
    };
    const paced = () =>
      new Promise<void>((resolve) => {
        const t0 = monoMs() + 2;
        let i = 0;
        const tick = () => {
          const now = monoMs();
          for (; i < total && t0 + i * interval <= now; i++) {
            sendAt[i] = t0 + i * interval;
            fire(i);
          }
          if (i < total) setTimeout(tick, 1);
          else resolve();
        };
        tick();
      });
    const { cpu } = await cpuWhile([o.server.pid, ...pool.pids, process.pid], async () => {
      await paced();
      await Promise.all(inflight);
    });

    // Let slow watchers finish: their lag is part of the latency.
    const deadline = Date.now() + 15_000;
    while ((await pool.lowest()) < lastRevision && Date.now() < deadline) await sleep(50);

    const afterAck: number[] = [];
    const afterSend: number[] = [];
    for (const log of await pool.collect()) {
      for (let j = 0; j < log.revisions.length; j++) {
        const i = indexOf.get(log.revisions[j]);
        if (i === undefined || i < measuredFrom) continue;
        afterAck.push(log.times[j] - ackAt[i]);
        afterSend.push(log.times[j] - sendAt[i]);
      }
    }
    const writeLatency: number[] = [];
    let acked = 0;
    let lastAck = 0;
    for (let i = measuredFrom; i < total; i++) {
      if (Number.isNaN(ackAt[i])) continue;
      acked++;
      lastAck = Math.max(lastAck, ackAt[i]);
      writeLatency.push(ackAt[i] - sendAt[i]);
    }
    // A server that cannot keep up answers late: the rate is over the time it really took.
    const span = Math.max(o.durationMs, lastAck - sendAt[measuredFrom]);
    return {
      watchers: o.watchers,
      achievedRate: acked / (span / 1000),
      afterAck: distribution(afterAck),
      afterSend: distribution(afterSend),
      writeLatency: distribution(writeLatency),
      delivered: afterAck.length,
      expected: acked * o.watchers,
      writeErrors,
      skipped,
      cpu: { server: cpu[0], watchers: cpu.slice(1, -1).reduce((a, b) => a + b, 0), writer: cpu[cpu.length - 1] },
    };
  } finally {
    client.close();
    pool.close();
  }
}
