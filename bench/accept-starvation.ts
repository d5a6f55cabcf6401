// Shows how fast a busy Node HTTP server accepts new connections (the 10,000-node ramp's limit,
// see BENCHMARKS.md "Issue 10: PostgreSQL creates, SQLite updates, checkpoints"): a server whose
// requests take `--busy` ms of CPU each, kept busy by 300 keep-alive clients in a child process,
// while that child opens 2,000 new connections. Each turn of the event loop accepts one connection
// (strace: one accept4 per epoll_pwait; libuv accepts once per readiness since its commit 6c692ad1c,
// "unix: don't accept() connections in a loop"), and a turn lasts as long as the requests it serves.
// Talks only to the server it starts on 127.0.0.1; at most --seconds long.
// Usage: node --import tsx bench/accept-starvation.ts [--busy 2] [--seconds 15]
import { fork } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { busy: { type: 'string', default: '2' }, seconds: { type: 'string', default: '15' }, client: { type: 'string' } } });

if (values.client) {
  const port = Number(values.client);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 300 });
  const one = () => new Promise<void>((done) => void http.get({ port, host: '127.0.0.1', agent, path: '/' }, (res) => res.resume().on('end', done)).on('error', () => done()));
  for (let i = 0; i < 300; i++) void (async () => { for (;;) await one(); })();
  setTimeout(() => {
    const sockets = Array.from({ length: 2000 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
    process.send!({ opened: sockets.length });
  }, 1000);
} else {
  const busyMs = Number(values.busy);
  const seconds = Number(values.seconds);
  let accepted = 0;
  const server = http.createServer((_req, res) => {
    const until = performance.now() + busyMs;
    while (performance.now() < until);
    res.end('ok');
  });
  server.on('connection', () => accepted++);
  await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => r()));
  const child = fork(new URL(import.meta.url).pathname, ['--client', String((server.address() as net.AddressInfo).port)], { execArgv: ['--import', 'tsx'] });
  child.once('message', () => {
    const from = accepted;
    const t0 = performance.now();
    const timer = setInterval(() => {
      const n = accepted - from;
      if (n < 2000 && performance.now() - t0 < seconds * 1000) return;
      clearInterval(timer);
      process.stdout.write(`${busyMs} ms of CPU per request, 300 keep-alive clients: ${n} of 2,000 new connections accepted in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      child.kill();
      server.closeAllConnections();
      server.close();
    }, 50);
  });
}
