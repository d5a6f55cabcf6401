import { parseBenchArgs } from './bench-args.ts';

export const ACCESS_SCENARIOS = ['tokens', 'cli', 'ratelimit'] as const;
export type AccessScenario = (typeof ACCESS_SCENARIOS)[number];

export interface AccessOptions {
  scenarios: AccessScenario[];
  /** Distinct tokens verified once each (and the same again, 16 in flight). @default 20000 (5000 with --quick) */
  tokens: number;
  /** Hosts in the project for `eim get hosts`. @default 10000 */
  hosts: number;
  /** Timed runs of each process in the CLI scenario. @default 10 (5 with --quick) */
  cliRuns: number;
  /** Runs with the rate limiter on, and as many with it off, alternating (after one untimed run each). @default 7 (2 with --quick) */
  rateRuns: number;
  /** Measured time per rate-limit run. @default 5000 (2000 with --quick) */
  durationMs: number;
  /** Unmeasured time before it. @default 1000 (500 with --quick) */
  warmupMs: number;
  /** Where child servers and one `eim get hosts` write V8 CPU profiles, if anywhere. */
  cpuProfDir?: string;
  writeMarkdown: boolean;
  command: string;
}

const USAGE = `usage: npm run bench:access -- [options]
  --scenario <name>             ${ACCESS_SCENARIOS.join('|')} (repeatable; default all)
  --quick                       fewer tokens, runs and seconds (to try the program out)
  --tokens <n>                  distinct tokens to verify (default 20000)
  --hosts <n>                   hosts in the project for eim get hosts (default 10000)
  --cli-runs <n>                timed runs of each process (default 10)
  --rate-runs <n>               runs with the limiter on and off each, alternating (default 7)
  --duration <s> --warmup <s>   rate-limit run lengths (default 5 s, 1 s)
  --cpu-prof <dir>              child servers and one eim get hosts run with node --cpu-prof into <dir>
  --md / --no-md                write BENCHMARKS.md (default: only for a full run)`;

/**
 * Parses bench:access's command line into frozen options.
 * @example compileAccessOptions(['--scenario', 'cli', '--quick'])
 */
export function compileAccessOptions(argv: string[]): Readonly<AccessOptions> {
  const a = parseBenchArgs('bench:access', USAGE, argv, {
    scenario: { type: 'string', multiple: true },
    tokens: { type: 'string' },
    hosts: { type: 'string' },
    'cli-runs': { type: 'string' },
    'rate-runs': { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'cpu-prof': { type: 'string' },
  });
  const { values, flags: f } = a;
  const q = values.quick;
  return Object.freeze({
    scenarios: (values.scenario ?? [...ACCESS_SCENARIOS]).map((s) => f.oneOf(s, ACCESS_SCENARIOS, '--scenario')),
    tokens: f.whole(values.tokens, q ? 5000 : 20_000, '--tokens'),
    hosts: f.whole(values.hosts, 10_000, '--hosts'),
    cliRuns: f.whole(values['cli-runs'], q ? 5 : 10, '--cli-runs'),
    rateRuns: f.whole(values['rate-runs'], q ? 2 : 7, '--rate-runs'),
    durationMs: f.seconds(values.duration, q ? 2 : 5, '--duration'),
    warmupMs: f.seconds(values.warmup, q ? 0.5 : 1, '--warmup'),
    cpuProfDir: values['cpu-prof'],
    // Anything but --cpu-prof and --md changes what is measured: such a run leaves BENCHMARKS.md alone unless --md.
    writeMarkdown: a.writeMarkdown(a.anyGivenExcept('cpu-prof')),
    command: a.command,
  });
}
