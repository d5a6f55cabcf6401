import { monoMs, sleep } from './clock.ts';
import type { HttpClient } from './http-client.ts';

/**
 * A probe in the bench process, seen from outside the server: every 250 ms, one heartbeat of an
 * agent enrolled for it and one GET /healthz (no auth, no work: what any request waits for on a
 * busy event loop), each timed from send to answer. Only while `recording` are times kept.
 * @example const p = new HeartbeatProbe(agentClient, plainClient); p.start(); p.recording = true; …; await p.stop()
 */
export class HeartbeatProbe {
  readonly heartbeat: number[] = [];
  readonly healthz: number[] = [];
  errors = 0;
  firstError?: string;
  recording = false;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(private readonly agent: HttpClient, private readonly plain: HttpClient) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          const t0 = monoMs();
          const hb = await this.agent.send('POST', '/southbound/v1/heartbeat', { intervalSeconds: 10 });
          const t1 = monoMs();
          const hz = await this.plain.send('GET', '/healthz');
          const t2 = monoMs();
          if (hb.status !== 204 || hz.status !== 200) throw new Error(`probe: HTTP ${hb.status} / ${hz.status}: ${hb.body.slice(0, 200)}`);
          if (this.recording) {
            this.heartbeat.push(t1 - t0);
            this.healthz.push(t2 - t1);
          }
        } catch (e) {
          this.errors++;
          this.firstError ??= (e as Error).message;
        }
        await sleep(250);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.agent.close();
    this.plain.close();
  }
}
