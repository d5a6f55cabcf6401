import { parseBenchArgs } from './bench-args.ts';

export const DIALECTS = ['sqlite', 'postgres'] as const;
export type BenchDialect = (typeof DIALECTS)[number];

export const SCENARIOS = ['baseline', 'inprocess', 'http', 'watch', 'restart', 'bounds'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  dialects: BenchDialect[];
  scenarios: Scenario[];
  /** Measured time per throughput run. @default 5000 (2000 with --quick) */
  durationMs: number;
  /** Unmeasured time before it. @default 1000 (500 with --quick) */
  warmupMs: number;
  /** Resources for the restart and memory runs. @default 100000 */
  resources: number;
  /** Paced write rate of the latency run. @default 1000 */
  watchRate: number;
  /** Watcher counts of the latency run. @default [10, 100] */
  watcherCounts: number[];
  /** Child processes the SSE watchers are spread over. @default 2 */
  watcherProcs: number;
  /**
   * Whether the child servers run eim's resource managers in-process (the server's own default) or
   * not: the Inventory alone. The managers reconcile every Host the benchmark creates, adding writes
   * and an informer cache of all Hosts. @default 'none'
   */
  managers: 'none' | 'in-process';
  /** Where child servers write V8 CPU profiles (node --cpu-prof), if anywhere. */
  cpuProfDir?: string;
  /** Whether to rewrite the section in BENCHMARKS.md. Full runs do, subset runs only with --md. */
  writeMarkdown: boolean;
  /** The command line as typed, for the record. */
  command: string;
}

const USAGE = `usage: npm run bench:inventory -- [options]
  --only <sqlite|postgres>      one dialect (repeatable)
  --scenario <name>             ${SCENARIOS.join('|')} (repeatable; default all)
  --quick                       2 s runs, 0.5 s warm-up (default 5 s, 1 s)
  --duration <s> --warmup <s>   explicit run lengths
  --resources <n>               resources for restart/RSS (default 100000)
  --watch-rate <n>              paced writes/s in the latency run (default 1000)
  --watchers <a,b>              watcher counts (default 10,100)
  --watcher-procs <n>           processes the watchers are spread over (default 2)
  --managers <none|in-process>  resource managers in the server (default none: the Inventory
                                alone); in-process results go to a section of their own
  --cpu-prof <dir>              child servers run with node --cpu-prof into <dir>
  --md / --no-md                write BENCHMARKS.md (default: only for a full run)`;

/**
 * Parses the command line into frozen options.
 * @example compileBenchOptions(['--only', 'sqlite', '--quick'])
 */
export function compileBenchOptions(argv: string[]): Readonly<BenchOptions> {
  const a = parseBenchArgs('bench:inventory', USAGE, argv, {
    only: { type: 'string', multiple: true },
    scenario: { type: 'string', multiple: true },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    resources: { type: 'string' },
    'watch-rate': { type: 'string' },
    watchers: { type: 'string' },
    'watcher-procs': { type: 'string' },
    'cpu-prof': { type: 'string' },
    managers: { type: 'string' },
  });
  const { values, flags: f } = a;
  const dialects = (values.only ?? [...DIALECTS]).map((d) => f.oneOf(d, DIALECTS, '--only'));
  const scenarios = (values.scenario ?? [...SCENARIOS]).map((s) => f.oneOf(s, SCENARIOS, '--scenario'));
  // Unlike bench:access and bench:fleet, only these flags make a subset run (--warmup, --watch-rate and the like do not).
  const subset = values.only !== undefined || values.scenario !== undefined || values.quick || values.duration !== undefined || values.resources !== undefined;
  return Object.freeze({
    dialects,
    scenarios,
    durationMs: f.seconds(values.duration, values.quick ? 2 : 5, '--duration'),
    warmupMs: f.seconds(values.warmup, values.quick ? 0.5 : 1, '--warmup'),
    resources: f.whole(values.resources, 100_000, '--resources'),
    watchRate: f.whole(values['watch-rate'], 1000, '--watch-rate'),
    watcherCounts: values.watchers ? values.watchers.split(',').map((w) => f.whole(w, 0, '--watchers')) : [10, 100],
    watcherProcs: f.whole(values['watcher-procs'], 2, '--watcher-procs'),
    managers: f.oneOf(values.managers ?? 'none', ['none', 'in-process'] as const, '--managers'),
    cpuProfDir: values['cpu-prof'],
    writeMarkdown: a.writeMarkdown(subset),
    command: a.command,
  });
}
