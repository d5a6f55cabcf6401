import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent } from './agent.ts';
import { MemoryLog } from './agent-log.ts';
import type { Clock } from './clock.ts';
import { SimDiscovery } from './discovery/sim-discovery.ts';
import { SimExecutor } from './executor/sim-executor.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';
import { FakeSouthbound } from './testing/fake-southbound.ts';

test('defaults: 1 s doubling to 30 s; jitter ±20 %; reset starts over', () => {
  const mid = new ReconnectBackoff({ random: () => 0.5 });
  assert.deepEqual(
    Array.from({ length: 8 }, () => mid.next()),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
  mid.reset();
  assert.equal(mid.next(), 1000);
  const low = new ReconnectBackoff({ random: () => 0 });
  const high = new ReconnectBackoff({ random: () => 0.999999 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => low.next()),
    [800, 1600, 3200, 6400, 12800, 24000],
  );
  assert.deepEqual(
    Array.from({ length: 6 }, () => high.next()),
    [1200, 2400, 4800, 9600, 19200, 30000],
  );
  assert.throws(() => new ReconnectBackoff({ minMs: 10, maxMs: 5 }), /minMs/);
});

test('the agent reconnects a refused stream with growing delays on its clock, then resets after a good connection', async () => {
  const sb = await FakeSouthbound.start();
  sb.streamStatus = 503;
  const waits: number[] = [];
  // Real timers, recorded: the reconnect delays are exactly the backoff's, with no jitter at random 0.5.
  const clock: Clock = { now: () => Date.now(), setTimeout: (fn, ms) => (waits.push(ms), setTimeout(fn, ms)), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  const agent = new Agent({
    server: sb.url,
    enrollmentToken: 'enroll-secret',
    discovery: new SimDiscovery({ seed: 1 }),
    executor: new SimExecutor(),
    heartbeatMs: 60_000,
    rescanMs: 60_000,
    backoffMinMs: 10,
    backoffMaxMs: 40,
    random: () => 0.5,
    clock,
    log: new MemoryLog(),
  });
  const run = agent.run();
  await sb.waitFor('five refusals', () => sb.streamRefusals >= 5);
  sb.streamStatus = 200;
  sb.onStream = (s) => {
    s.send('BOOKMARK', { revision: 1 }, '1');
    if (s.index === 0) s.end();
  };
  await sb.waitFor('connected twice', () => sb.streams.length >= 2);
  agent.stop();
  await run;
  await sb.close();
  const reconnects = waits.filter((ms) => ms <= 40); // not the heartbeat, rescan or stop-grace timers
  assert.deepEqual(reconnects.slice(0, 5), [10, 20, 40, 40, 40]);
  assert.equal(reconnects.at(-1), 10, 'after a connection that worked, back to the first delay');
});
