// Runs one eim server for the benchmark, in its own process, so that the load generator does not
// share its event loop. Argument: JSON { dataDir, store?, managers?, server?, sqlStats? } (`server`:
// more startServer options, e.g. { rateLimitRps: 0 }; `sqlStats`: time every SQLite statement, and
// answer the IPC message { cmd: 'sql-stats' } with the heaviest since the last one; `managerWorkers`:
// the resource managers in this process as startServer runs them, but with that many workers each). Prints one JSON line on stdout when it
// listens ({ url, adminTokenPath, pid, entryAt, importedAt, listeningAt }, times on the machine-wide
// monotonic clock); SIGTERM, SIGINT or the parent going away close it cleanly (so --cpu-prof
// profiles get written).
import { boundHeapGrowth, heapGrowthFromEnv } from '../../src/cli/heap-growth.ts';
import { monoMs } from './clock.ts';

const entryAt = monoMs();
// The heap's growth as `eim server` / `eim sim` set it (EIM_HEAP_GROWTH, else the default).
boundHeapGrowth(heapGrowthFromEnv());
const options = JSON.parse(process.argv[2] ?? '{}') as { dataDir: string; store?: string; managers?: string; server?: Record<string, unknown>; sqlStats?: boolean; managerWorkers?: number };
if (options.sqlStats) {
  const { installSqlStats, takeSqlStats } = await import('./sql-stats.ts');
  installSqlStats();
  process.on('message', (m: { cmd?: string }) => {
    if (m?.cmd === 'sql-stats') process.send!({ type: 'sql-stats', ...takeSqlStats(12) });
  });
}
const { startServer } = await import('../../src/server/server.ts');
const importedAt = monoMs();
// `managers` only when asked for, so this keeps working on a server without that option.
const managers = options.managerWorkers ? { managers: 'none' } : options.managers ? { managers: options.managers } : {};
const server = await startServer({ dataDir: options.dataDir, store: options.store, port: 0, logLevel: 'warn', ...managers, ...options.server } as Parameters<typeof startServer>[0]);
// The same wiring as startServer's in-process managers (its own Inventory, a manager grant), more workers.
const tunedManagers = options.managerWorkers
  ? await (await import('../../src/managers/index.ts')).startManagers(server.inventory.as({ subject: 'managers', grants: [{ project: '*', role: 'manager' }] }), {
      workers: options.managerWorkers,
      onError: (e) => process.stderr.write(`manager error: ${(e as Error).message}\n`),
    })
  : undefined;
const listeningAt = monoMs();
process.stdout.write(`${JSON.stringify({ url: server.url, adminTokenPath: server.adminTokenPath, pid: process.pid, entryAt, importedAt, listeningAt })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // A close() that hangs is reported, and the process exits anyway after 5 s: a clean exit still
  // writes its --cpu-prof profile, where the parent's SIGKILL (after 10 s) would lose it.
  const t0 = monoMs();
  const watchdog = setTimeout(() => {
    const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().map((h) => h.constructor.name);
    const counts = Object.entries(handles.reduce<Record<string, number>>((m, n) => ((m[n] = (m[n] ?? 0) + 1), m), {})).map(([n, c]) => `${c} ${n}`);
    process.stderr.write(`server-child: close() still running after ${Math.round(monoMs() - t0)} ms (active handles: ${counts.join(', ')}); exiting without it\n`);
    process.exit(0);
  }, 5000);
  Promise.resolve(tunedManagers?.stop())
    .then(() => server.close())
    .finally(() => {
      clearTimeout(watchdog);
      process.exit(0);
    });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
