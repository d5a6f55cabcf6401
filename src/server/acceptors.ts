import { type ChildProcess, spawn } from 'node:child_process';
import { Server, type Socket } from 'node:net';

/**
 * The helper that hands the listening socket back. A handle a process receives over its IPC
 * channel arrives as a new descriptor (SCM_RIGHTS), so sending the socket back `n` times gives its
 * parent `n` more descriptors of it. It moves as the bare handle (Node's "net.Native"): the helper
 * never listens on it, so it accepts no connection of the server's. It ends when its parent goes.
 */
const BOUNCE = `process.on('disconnect', () => process.exit(0));
process.on('message', (m, h) => { let left = m.n; for (let i = 0; i < m.n; i++) process.send('dup', h, () => { if (--left === 0) { h.close(); process.disconnect(); } }); });`;

/** How long the helper may take before the server goes on with the one descriptor it has. */
const HELPER_TIMEOUT_MS = 10_000;

export interface Acceptors {
  /** Descriptors of the listening socket watched besides the server's own. */
  readonly extra: number;
  /** Settles when the helper has sent them all and ended (no other process holds the socket then), failed, or timed out; never rejects. */
  readonly ready: Promise<void>;
  /** Stops accepting on the extra descriptors at once, and the helper if it still runs (the connections accepted stay with the server). */
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
 * its connection guard, TLS and HTTP parser). They close with the server.
 *
 * `backlog` is the server's listen backlog: listening again through a descriptor sets it anew.
 * Best effort: when the helper cannot run, the server keeps its one descriptor and `onError` hears
 * why; nothing here throws.
 * @example const a = startAcceptors(app.server, 31, 8192, (e) => log.warn({ err: e }, 'acceptors')); await a.ready; … a.close()
 */
export function startAcceptors(server: Server, count: number, backlog: number, onError: (e: Error) => void): Acceptors {
  const extra: Server[] = [];
  let closed = false;
  let child: ChildProcess | undefined;
  let finish = () => {};
  const acceptors: Acceptors = {
    get extra() {
      return extra.length;
    },
    ready: new Promise<void>((resolve) => (finish = resolve)),
    close() {
      closed = true;
      if (child && child.exitCode === null && child.signalCode === null) child.kill();
      for (const s of extra.splice(0)) s.close();
      finish();
    },
  };
  // The bare handle of the listening socket (Node's own cluster module sends it the same way).
  const handle = (server as unknown as { _handle?: object })._handle;
  if (count < 1 || !handle || !server.listening) {
    finish();
    return acceptors;
  }
  server.once('close', () => acceptors.close());
  const take = (dupHandle: { close(): void }) => {
    if (closed || !server.listening) return void dupHandle.close();
    const dup = new Server();
    // As http.Server does for its own connections (Nagle off: answers are small and go at once).
    dup.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      server.emit('connection', socket);
    });
    // An accept that fails must not end the process: the server's own descriptor goes on.
    dup.on('error', (e) => onError(e));
    dup.listen(dupHandle, backlog);
    extra.push(dup);
  };
  let received = 0;
  /** The helper failed: what arrived is dropped (unless all did), and the start goes on with one descriptor. */
  const fail = (e: Error) => {
    if (!closed && received < count) {
      onError(e);
      acceptors.close();
    }
    finish();
  };
  try {
    const { NODE_OPTIONS: _, ...env } = process.env;
    child = spawn(process.execPath, ['-e', BOUNCE], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env });
  } catch (e) {
    onError(e as Error);
    finish();
    return acceptors;
  }
  const helper = child;
  const timer = setTimeout(() => fail(new Error(`the helper that adds listening descriptors sent ${received} of ${count} within ${HELPER_TIMEOUT_MS} ms`)), HELPER_TIMEOUT_MS).unref();
  acceptors.ready.then(() => clearTimeout(timer));
  helper.on('message', (m: unknown, dupHandle: unknown) => {
    if (m !== 'dup' || !dupHandle) return;
    take(dupHandle as { close(): void });
    received++;
  });
  helper.on('error', (e) => fail(e));
  // 'close': it has ended and its channel is read to the end, so every descriptor it sent has arrived.
  helper.on('close', (code, signal) => {
    if (code === 0 && received === count) finish();
    else fail(new Error(`the helper that adds listening descriptors ended (${signal ?? `exit code ${code}`}) after sending ${received} of ${count}`));
  });
  // Out of descriptors or memory, spawn gives a process without its channel (its 'error' follows).
  if (!helper.connected) return acceptors;
  helper.send({ n: count }, handle as never, (e) => {
    if (e) fail(e);
  });
  return acceptors;
}
