import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { type AgentCommand, type CommandResult, EimError } from '../api/index.ts';
import { MemoryLog } from './agent-log.ts';
import { systemClock } from './clock.ts';
import { CommandJournal } from './command-journal.ts';
import { CommandWorker, type CommandWorkerDeps } from './command-worker.ts';
import { SimExecutor } from './executor/sim-executor.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'eim-worker-'));
  dirs.push(d);
  return d;
};
const cmd = (id: string, type: AgentCommand['type'], params: Record<string, unknown>): AgentCommand => ({ id, type, params, issuedAt: '2026-01-01T00:00:00.000Z' });

function worker(journal: CommandJournal, over: Partial<CommandWorkerDeps> = {}) {
  const posted: { id: string; result: CommandResult }[] = [];
  const ran: string[] = [];
  const sim = new SimExecutor({ durationMs: 4 });
  const w = new CommandWorker({
    client: { commandResult: async (id, result) => void posted.push({ id, result }) },
    executor: { name: 'sim', run: (c, p, s) => (ran.push(c.id), sim.run(c, p, s)) },
    journal,
    log: new MemoryLog(),
    clock: systemClock,
    signal: new AbortController().signal,
    bootId: 'boot-2',
    progressIntervalMs: 0,
    backoff: () => new ReconnectBackoff({ minMs: 5, maxMs: 20 }),
    onUnauthenticated: () => assert.fail('unexpected 401'),
    onSucceeded: () => {},
    ...over,
  });
  return { w, posted, ran };
}

test('a power reset that was running when the machine rebooted took effect; anything else interrupted is a recoverable failure', async () => {
  const file = path.join(tmp(), 'commands.json');
  const before = new CommandJournal({ file });
  before.start(cmd('reboot-1', 'power', { state: 'reset' }), 'boot-1');
  before.start(cmd('install-1', 'install-os', {}), 'boot-1');
  const { w, posted, ran } = worker(new CommandJournal({ file }));
  w.enqueue(cmd('reboot-1', 'power', { state: 'reset' }));
  w.enqueue(cmd('install-1', 'install-os', { imageUrl: 'https://x/y.img', sha256: 'a'.repeat(64) }));
  await w.idle();
  assert.deepEqual(ran, [], 'neither ran again');
  assert.equal(posted[0].result.state, 'succeeded');
  assert.match(posted[0].result.message!, /boot id changed/);
  assert.deepEqual([posted[1].result.state, posted[1].result.recoverable], ['failed', true]);
  assert.match(posted[1].result.message!, /not run again/);
  const saved = JSON.parse(readFileSync(file, 'utf8')).commands;
  assert.deepEqual(
    saved.map((e: { state: string }) => e.state),
    ['finished', 'finished'],
  );
});

test('the journal keeps the last 1000 commands on disk', () => {
  const file = path.join(tmp(), 'commands.json');
  const j = new CommandJournal({ file, persistLimit: 1000 });
  for (let i = 0; i < 1005; i++) {
    j.start(cmd(`c${i}`, 'wipe', {}));
    j.finish(`c${i}`, { state: 'succeeded' });
  }
  const reloaded = new CommandJournal({ file });
  assert.equal(reloaded.size, 1000);
  assert.equal(reloaded.get('c4'), undefined);
  assert.equal(reloaded.get('c5')?.state, 'finished');
  assert.equal(j.get('c0')?.state, 'finished', 'memory keeps more');
});

test('a final result is retried while the server is unavailable, then delivered once', async () => {
  let failures = 2;
  const posted: string[] = [];
  const { w } = worker(new CommandJournal(), {
    client: {
      commandResult: async (_id, r) => {
        if (r.state !== 'running' && failures-- > 0) throw new EimError('unavailable', 'server down');
        posted.push(r.state);
      },
    },
  });
  w.enqueue(cmd('c1', 'apply-config', { version: 1, config: {} }));
  await w.idle();
  assert.deepEqual(posted.filter((s) => s !== 'running'), ['succeeded']);
});

test('a command over within the progress interval posts its result alone; a longer one posts running first', async () => {
  const quick = worker(new CommandJournal(), { progressIntervalMs: 200 });
  quick.w.enqueue(cmd('q1', 'power', { state: 'off' }));
  await quick.w.idle();
  assert.deepEqual(quick.posted.map((p) => p.result.state), ['succeeded'], 'no "running" for a 4 ms power change');
  const update = worker(new CommandJournal(), { progressIntervalMs: 200 });
  update.w.enqueue(cmd('u1', 'apply-config', { version: 1, config: {} }));
  await update.w.idle();
  assert.deepEqual(update.posted.map((p) => p.result.state), ['running', 'succeeded'], 'any other command says running at once: its phases are what the operator follows');

  const slow = { name: 'slow', run: async (): Promise<CommandResult> => (await new Promise((r) => setTimeout(r, 300)), { state: 'succeeded' }) };
  const long = worker(new CommandJournal(), { progressIntervalMs: 50, executor: slow });
  long.w.enqueue(cmd('s1', 'apply-config', { version: 1, config: {} }));
  await long.w.idle();
  const states = long.posted.map((p) => p.result.state);
  assert.equal(states[0], 'running', states.join(','));
  assert.equal(states.at(-1), 'succeeded');
});
