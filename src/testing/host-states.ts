import type { TestApp } from './test-app.ts';
import { until } from './until.ts';

/**
 * The connection states (`status.hostStatus.message`) a host was stored with after revision
 * `since`, read from the event log, repeats collapsed. A state a host holds for a few hundred
 * milliseconds (a heartbeat with a short interval, then silence) is in the log however slowly a
 * loaded machine polls, where a poll of the host can miss it.
 * @example assert.deepEqual(await hostStates(srv, 'default', host.id, since), ['running', 'no connection'])
 */
export async function hostStates(srv: Pick<TestApp, 'call' | 'admin'>, project: string, hostId: string, since: number): Promise<string[]> {
  const r = await srv.call('GET', `/v1/projects/${project}/events?id=${hostId}&since=${since}&limit=1000`, srv.admin);
  if (r.status !== 200) throw new Error(`events of ${hostId}: HTTP ${r.status}`);
  const seen: string[] = [];
  for (const e of r.json.events as { type: string; object: { status?: { hostStatus?: { message?: string } } } }[]) {
    const m = e.object.status?.hostStatus?.message;
    if (m && m !== seen.at(-1)) seen.push(m);
  }
  return seen;
}

/**
 * Waits until the host was stored with `message` at some point after revision `since` (even if
 * it has left that state again), and returns the states seen so far.
 */
export async function untilHostWas(srv: Pick<TestApp, 'call' | 'admin'>, project: string, hostId: string, since: number, message: string, timeoutMs = 3000): Promise<string[]> {
  let last: string[] = [];
  try {
    return await until(async () => {
      last = await hostStates(srv, project, hostId, since);
      return last.includes(message) && last;
    }, `host ${hostId} stored as "${message}"`, { timeoutMs, intervalMs: 20 });
  } catch (e) {
    throw new Error(`${(e as Error).message} (states since ${since}: ${JSON.stringify(last)})`);
  }
}
