import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { startAcceptors } from './acceptors.ts';

const listen = async (backlog = 511) => {
  const server = http.createServer((req, res) => res.end(`${req.socket.remotePort}`));
  await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog }, () => r()));
  return { server, port: (server.address() as AddressInfo).port };
};

/**
 * Opens `n` connections from another thread while this one is blocked (as a busy event loop is),
 * then counts how many the server accepts in the next turn of the loop.
 */
async function acceptedInOneTurn(server: http.Server, port: number, n: number): Promise<number> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const net = require('node:net'); const { workerData: { port, n, flag }, parentPort } = require('node:worker_threads');
     let open = 0; const sockets = [];
     for (let i = 0; i < n; i++) sockets.push(net.connect(port, '127.0.0.1', () => { if (++open === n) { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); } }).on('error', () => {}));
     parentPort.on('message', () => { for (const s of sockets) s.destroy(); parentPort.close(); });`,
    { eval: true, workerData: { port, n, flag } },
  );
  let accepted = 0;
  const count = () => accepted++;
  server.on('connection', count);
  // In the timers phase: the poll phase (the accepts) comes next, then the check phase (setImmediate).
  const turn = await new Promise<number>((resolve) =>
    setTimeout(() => {
      // Blocked until every connection is in the kernel's queue, as a loop busy with requests would be.
      Atomics.wait(flag, 0, 0, 10_000);
      accepted = 0;
      setImmediate(() => resolve(accepted));
    }, 0),
  );
  server.off('connection', count);
  worker.postMessage('close');
  await new Promise((r) => worker.once('exit', r));
  return turn;
}

describe('extra descriptors of the listening socket', () => {
  const servers: http.Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  test('connections accepted on them are answered by the server, and a busy loop accepts several a turn', async () => {
    const plain = await listen();
    const busy = await listen(1000);
    servers.push(plain.server, busy.server);
    const errors: Error[] = [];
    const acceptors = startAcceptors(busy.server, 8, 1000, (e) => errors.push(e));
    await acceptors.ready;
    assert.deepEqual(errors, []);
    assert.equal(acceptors.extra, 8);
    // Listening through a new descriptor sets the backlog anew: it stays the server's.
    const ss = spawnSync('ss', ['-ltnH', `sport = :${busy.port}`], { encoding: 'utf8' });
    if (ss.status === 0) assert.equal(ss.stdout.trim().split(/\s+/)[2], '1000', `the listen queue's length (ss: ${ss.stdout.trim()})`);

    // Every new connection is answered, whichever descriptor accepted it.
    for (let i = 0; i < 30; i++) {
      const body = await new Promise<string>((resolve, reject) =>
        http.get({ port: busy.port, host: '127.0.0.1', agent: false }, (res) => {
          let b = '';
          res.on('data', (c) => (b += c)).on('end', () => resolve(b));
        }).on('error', reject),
      );
      assert.match(body, /^\d+$/);
    }

    const one = await acceptedInOneTurn(plain.server, plain.port, 40);
    const several = await acceptedInOneTurn(busy.server, busy.port, 40);
    // Node 20 accepts one connection per descriptor and turn: 9 here (a libuv that accepts in a loop would take all 40 with either).
    assert.ok(several >= 9, `with 8 more descriptors, ${several} connections accepted in one turn (${one} with the server's one)`);

    // Closed, they accept no more: the server's own descriptor goes on alone.
    acceptors.close();
    assert.equal(acceptors.extra, 0);
    const alone = await acceptedInOneTurn(busy.server, busy.port, 40);
    assert.ok(alone <= one, `after close, ${alone} connections a turn (${several} before, ${one} with one descriptor)`);
  });

  test('connections that arrive while the helper runs are all answered (the helper accepts none of them)', async () => {
    const { server, port } = await listen();
    servers.push(server);
    // Another thread opens one new connection after another, each with a request, from before the
    // helper starts until after it is gone.
    const worker = new Worker(
      `const http = require('node:http'); const { workerData: { port }, parentPort } = require('node:worker_threads');
       let stop = false, sent = 0, answered = 0, failed = 0;
       parentPort.on('message', () => (stop = true));
       const one = () => new Promise((done) => {
         const req = http.get({ port, host: '127.0.0.1', agent: false, timeout: 5000 }, (res) => res.resume().on('end', () => { answered++; done(); }));
         req.on('timeout', () => req.destroy(new Error('no answer in 5 s'))).on('error', () => { failed++; done(); });
       });
       (async () => { while (!stop) { sent++; await Promise.all([one(), one(), one(), one()]); } parentPort.postMessage({ sent: sent * 4, answered, failed }); })();`,
      { eval: true, workerData: { port } },
    );
    await new Promise((r) => setTimeout(r, 200));
    const acceptors = startAcceptors(server, 16, 511, (e) => assert.fail(e));
    await acceptors.ready;
    assert.equal(acceptors.extra, 16);
    await new Promise((r) => setTimeout(r, 300));
    worker.postMessage('stop');
    const tally = await new Promise<{ sent: number; answered: number; failed: number }>((r) => worker.once('message', r));
    await worker.terminate();
    assert.ok(tally.sent >= 40, `connections opened meanwhile: ${tally.sent}`);
    assert.deepEqual({ answered: tally.answered, failed: tally.failed }, { answered: tally.sent, failed: 0 });
    acceptors.close();
  });

  test('they close with the server; closed while the helper runs, none is added; a helper that cannot start leaves the server on its own', async () => {
    const a = await listen();
    const early = startAcceptors(a.server, 8, 511, (e) => assert.fail(e));
    early.close();
    await early.ready;
    assert.equal(early.extra, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(early.extra, 0, 'descriptors that arrive after close are dropped');

    const b = await listen();
    const acceptors = startAcceptors(b.server, 8, 511, (e) => assert.fail(e));
    await acceptors.ready;
    assert.equal(acceptors.extra, 8);
    await new Promise<void>((r) => b.server.close(() => r()));
    assert.equal(acceptors.extra, 0);
    const refused = await new Promise<string>((resolve) => http.get({ port: b.port, host: '127.0.0.1', agent: false }, () => resolve('answered')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message)));
    assert.equal(refused, 'ECONNREFUSED', 'nothing listens once the server closed');

    const c = await listen();
    servers.push(a.server, c.server);
    const execPath = process.execPath;
    const errors: Error[] = [];
    process.execPath = '/nonexistent/node';
    let broken;
    try {
      broken = startAcceptors(c.server, 8, 511, (e) => errors.push(e));
    } finally {
      process.execPath = execPath;
    }
    await broken.ready;
    assert.equal(broken.extra, 0);
    assert.match(errors.map((e) => e.message).join('; '), /ENOENT/);
    const body = await new Promise<string>((resolve, reject) => http.get({ port: c.port, host: '127.0.0.1', agent: false }, (res) => res.resume().on('end', () => resolve('answered'))).on('error', reject));
    assert.equal(body, 'answered');
  });

  test('asked for none, no helper runs', async () => {
    const { server } = await listen();
    servers.push(server);
    const acceptors = startAcceptors(server, 0, 511, (e) => assert.fail(e));
    // Ready at once: a helper started would settle it only after it had ended (or in 10 s).
    let settled = false;
    void acceptors.ready.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, true, 'ready without a helper');
    assert.equal(acceptors.extra, 0);
  });
});
