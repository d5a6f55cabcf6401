// Runs one eim server for the benchmark, in its own process, so that the load generator does not
// share its event loop. Argument: JSON { dataDir, store?, managers? }. Prints one JSON line on stdout when it
// listens ({ url, adminTokenPath, pid, entryAt, importedAt, listeningAt }, times on the machine-wide
// monotonic clock); SIGTERM, SIGINT or the parent going away close it cleanly (so --cpu-prof
// profiles get written).
import { monoMs } from './clock.ts';

const entryAt = monoMs();
const options = JSON.parse(process.argv[2] ?? '{}') as { dataDir: string; store?: string; managers?: string };
const { startServer } = await import('../../src/server/server.ts');
const importedAt = monoMs();
// `managers` only when asked for, so this keeps working on a server without that option.
const managers = options.managers ? { managers: options.managers } : {};
const server = await startServer({ dataDir: options.dataDir, store: options.store, port: 0, logLevel: 'warn', ...managers } as Parameters<typeof startServer>[0]);
const listeningAt = monoMs();
process.stdout.write(`${JSON.stringify({ url: server.url, adminTokenPath: server.adminTokenPath, pid: process.pid, entryAt, importedAt, listeningAt })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
