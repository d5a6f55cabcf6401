import { setFlagsFromString } from 'node:v8';
import { InvalidArgumentError, Option } from 'commander';

/**
 * How far the JavaScript heap may grow past what the last full garbage collection kept, in percent,
 * in the processes that hold a fleet's worth of state (`eim server`, `eim managers`, `eim sim`).
 *
 * V8 picks the factor itself, up to 4× when memory is plentiful and the program allocates fast. With
 * 10,000 agents connected, the server's heap stood at 593 MB for 198 MB of live objects (RSS 811 MB);
 * with 50 % it stood at 318 MB for 244 MB (RSS 497 MB), for the same CPU within this machine's noise
 * (BENCHMARKS.md, "Issue 10: the heap's growth").
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 50;
const MAX_HEAP_GROWTH_PERCENT = 1000;

/** Commander argParser for --heap-growth: a whole number 0…1000 (a usage error, exit 2, otherwise). */
export function heapGrowthPercent(v: string): number {
  const n = Number(v);
  if (!/^\d{1,4}$/.test(v) || n > MAX_HEAP_GROWTH_PERCENT) {
    throw new InvalidArgumentError(`expected a whole percent from 0 (V8's own choice) to ${MAX_HEAP_GROWTH_PERCENT}`);
  }
  return n;
}

/** The `--heap-growth <percent>` option (env EIM_HEAP_GROWTH) of the commands that hold a fleet in memory. */
export function heapGrowthOption(): Option {
  return new Option('--heap-growth <percent>', "how far the JavaScript heap may grow past what the last full garbage collection kept (0: V8's own choice, up to 4×)")
    .env('EIM_HEAP_GROWTH')
    .default(DEFAULT_HEAP_GROWTH_PERCENT)
    .argParser(heapGrowthPercent);
}

/**
 * Sets V8's heap growing factor for this process, unless node was started with its own
 * `--heap-growing-percent` (that one stays). 0 leaves V8 to choose. Returns what holds now.
 * @example boundHeapGrowth(50) // → 'heap growth 50 %'
 */
export function boundHeapGrowth(percent: number, execArgv: readonly string[] = process.execArgv, setFlags: (flags: string) => void = setFlagsFromString): string {
  if (!Number.isInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWTH_PERCENT) throw new RangeError(`heap growth: ${percent} is not a whole percent from 0 to ${MAX_HEAP_GROWTH_PERCENT}`);
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return 'heap growth as node was started with it';
  setFlags(`--heap-growing-percent=${percent}`);
  return percent === 0 ? "heap growth V8's own" : `heap growth ${percent} %`;
}

/** EIM_HEAP_GROWTH as the commands read it, else the default: for processes started without the CLI (the benchmarks' children). */
export function heapGrowthFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.EIM_HEAP_GROWTH;
  return v === undefined || v === '' ? DEFAULT_HEAP_GROWTH_PERCENT : heapGrowthPercent(v);
}
