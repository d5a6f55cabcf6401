import { spawn } from 'node:child_process';
import { Server, type Socket } from 'node:net';

/**
 * The helper that hands the listening socket back. A handle a process receives over its IPC
 * channel arrives as a new descriptor (SCM_RIGHTS), so sending the socket back `n` times gives its
 * parent `n` more descriptors of it. It moves as the bare handle (Node's "net.Native"): the helper
 * never listens on it, so it accepts no connection of the server's. It ends when its parent goes.
 */
const BOUNCE = `process.on('disconnect', () => process.exit(0));
process.on('message', (m, h) => { let left = m.n; for (let i = 0; i < m.n; i++) process.send('dup', h, () => { if (--left === 0) { h.close(); process.disconnect(); } }); });`;

/** How long a start waits for the helper before it goes on with the one descriptor it has. */
const HELPER_TIMEOUT_MS = 10_000;

export interface Acceptors {
  /** Descriptors of the listening socket watched besides the server's own. */
  readonly extra: number;
  /** Stops accepting on the extra descriptors (the connections they accepted stay with the server). */
  close(): void;
}

/**
 * Watches the server's listening socket through `count` more descriptors, so a busy event loop
 * accepts up to `count + 1` connections a turn instead of one.
 *
 * Node 20's libuv accepts one connection per readiness of a listening descriptor ("unix: don't
 * accept() connections in a loop", libuv 6c692ad1c), and a turn of a busy loop lasts as long as the
 * requests of every ready connection take: a site of machines powering on at once then waits in the
 * kernel's queue, which overflows (BENCHMARKS.md, the 10,000-node ramp). Node 22.12's `reusePort`
 * would give several sockets; on Node 20 a short-lived helper process sends the socket back to this
 * one `count` times. Each connection accepted on them goes to the server as its own would (through
 * its connection guard, TLS and HTTP parser).
 *
 * `backlog` is the server's listen backlog: listening again through a descriptor sets it anew.
 * Best effort: when the helper cannot run, the server keeps its one descriptor and `onError` hears why.
 * @example const a = await addAcceptors(app.server, 31, 8192, (e) => log.warn({ err: e }, 'acceptors')); … a.close()
 */
export async function addAcceptors(server: Server, count: number, backlog: number, onError: (e: Error) => void): Promise<Acceptors> {
  const extra: Server[] = [];
  let closed = false;
  const acceptors: Acceptors = {
    get extra() {
      return extra.length;
    },
    close() {
      closed = true;
      for (const s of extra.splice(0)) s.close();
    },
  };
  // The bare handle of the listening socket (Node's own cluster module sends it the same way).
  const handle = (server as unknown as { _handle?: object })._handle;
  if (count < 1 || !handle) return acceptors;
  const { NODE_OPTIONS: _, ...env } = process.env;
  const child = spawn(process.execPath, ['-e', BOUNCE], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env });
  const take = (dupHandle: { close(): void }) => {
    if (closed || !server.listening) return void dupHandle.close();
    const dup = new Server();
    // As http.Server does for its own connections (Nagle off: answers are small and go at once).
    dup.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      server.emit('connection', socket);
    });
    // An accept that fails (out of descriptors) must not end the process: the server's own descriptor goes on.
    dup.on('error', (e) => onError(e));
    dup.listen(dupHandle, backlog);
    extra.push(dup);
  };
  await new Promise<void>((resolve) => {
    let received = 0;
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      onError(new Error(`the helper that adds listening descriptors sent ${received} of ${count} within ${HELPER_TIMEOUT_MS} ms`));
      child.kill();
      done();
    }, HELPER_TIMEOUT_MS).unref();
    child.on('message', (m: unknown, dupHandle: unknown) => {
      if (m !== 'dup' || !dupHandle) return;
      take(dupHandle as { close(): void });
      if (++received === count) done();
    });
    child.on('error', (e) => {
      onError(e);
      done();
    });
    child.on('exit', (code, signal) => {
      if (code === 0 || received === count) return;
      onError(new Error(`the helper that adds listening descriptors ended (${signal ?? `exit code ${code}`}) after sending ${received} of ${count}`));
      done();
    });
    child.send({ n: count }, handle as never, (e) => {
      if (e) onError(e);
    });
  });
  return acceptors;
}
