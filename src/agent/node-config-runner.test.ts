import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EimError, type NodeConfigPayload, type NodeConfigReport } from '../api/index.ts';
import { MemoryLog } from './agent-log.ts';
import { systemClock } from './clock.ts';
import type { Executor } from './executor/executor.ts';
import type { NodeConfigMemory } from './executor/node-config-apply.ts';
import { NodeConfigRunner } from './node-config-runner.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';

const payload = (version: string): NodeConfigPayload => ({ version, accounts: [{ username: 'ops', sshKeys: [], sudo: 'none', groups: [], state: 'present', sourceId: 'localaccount-00000001' }], configs: [] });

function setup(outcome: (version: string, attempt: number) => 'ok' | 'recoverable' | 'unrecoverable', report: (r: NodeConfigReport) => Promise<void>) {
  const applied: string[] = [];
  let memory: NodeConfigMemory | undefined;
  const attempts = new Map<string, number>();
  const executor = {
    name: 'fake',
    run: async () => ({ state: 'succeeded' as const }),
    applyNodeConfig: async (d: NodeConfigPayload) => {
      await new Promise((r) => setTimeout(r, 5));
      const n = (attempts.get(d.version) ?? 0) + 1;
      attempts.set(d.version, n);
      applied.push(d.version);
      const o = outcome(d.version, n);
      return { items: [o === 'ok' ? { item: 'account:ops', state: 'applied' as const } : { item: 'account:ops', state: 'failed' as const, recoverable: o === 'recoverable', message: o }], memory: { accounts: ['ops'], files: [], ran: {} } };
    },
  } as Executor;
  const stop = new AbortController();
  const runner = new NodeConfigRunner({
    executor, report, load: () => memory, save: (m) => (memory = m), log: new MemoryLog(), clock: systemClock, signal: stop.signal,
    backoff: () => new ReconnectBackoff({ minMs: 10, maxMs: 40, random: () => 0.5 }), onUnauthenticated: () => stop.abort(),
  });
  return { runner, applied, stop };
}

test('the newest version wins; a recoverable failure is applied again after a backoff until it works; an unrecoverable one waits for a new version', async () => {
  const reports: NodeConfigReport[] = [];
  const { runner, applied } = setup((v, n) => (v === 'v3' && n <= 2 ? 'recoverable' : v === 'v4' ? 'unrecoverable' : 'ok'), async (r) => void reports.push(r));
  runner.offer(payload('v1'));
  runner.offer(payload('v2')); // v1 runs already; v2 replaces nothing yet
  runner.offer(payload('v3')); // v2 never runs: v3 is the newest when v1 is done
  await runner.idle();
  assert.deepEqual(applied, ['v1', 'v3', 'v3', 'v3']);
  assert.deepEqual(reports.map((r) => [r.version, r.items[0].state]), [['v1', 'applied'], ['v3', 'failed'], ['v3', 'failed'], ['v3', 'applied']]);
  runner.offer(payload('v4'));
  await runner.idle();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(applied.slice(4), ['v4'], 'not retried');
});

test('a report the server could not take is sent again; a refusal is not; a 401 ends the agent', async () => {
  let calls = 0;
  const { runner } = setup(() => 'ok', async () => {
    calls++;
    if (calls === 1) throw new EimError('unavailable', 'server restarting');
  });
  runner.offer(payload('v1'));
  await runner.idle();
  assert.equal(calls, 2);
  const refused = setup(() => 'ok', async () => {
    calls++;
    throw new EimError('failed_precondition', 'no node config');
  });
  calls = 0;
  refused.runner.offer(payload('v1'));
  await refused.runner.idle();
  assert.equal(calls, 1);
  const gone = setup(() => 'ok', async () => {
    throw new EimError('unauthenticated', 'revoked');
  });
  gone.runner.offer(payload('v1'));
  await gone.runner.idle();
  assert.equal(gone.stop.signal.aborted, true);
});
