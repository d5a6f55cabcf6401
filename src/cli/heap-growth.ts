import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { InvalidArgumentError, Option } from 'commander';

/**
 * How far the JavaScript heap may grow past what the last full garbage collection kept, in percent,
 * in the processes that hold a fleet's worth of state (`eim server`, `eim managers`, `eim sim`).
 *
 * V8 picks the factor itself, up to 4× when memory is plentiful and the program allocates fast: with
 * 10,000 agents connected, the server's heap stood at 593 MB for 198 MB in use. A small heap keeps at
 * least HEAP_ROOM_FLOOR_BYTES of room. `bench:fleet -- --scenario heartbeats --nodes 10000`, V8's own
 * against this: server RSS 667 → 530 MB, simulator 850 → 643 MB, the same CPU (BENCHMARKS.md,
 * "Issue 10: the heap's growth").
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
  return new Option('--heap-growth <percent>', "how far the JavaScript heap may grow past what it holds, and at least 256 MiB (0: V8's own choice, up to 4×)")
    .env('EIM_HEAP_GROWTH')
    .default(DEFAULT_HEAP_GROWTH_PERCENT)
    .argParser(heapGrowthPercent);
}

/**
 * Room for the heap to grow into that the percent never goes below, so that a burst of work on a
 * small heap runs without a full collection in the middle: 1,000 desired power changes at once
 * (`bench:fleet -- --scenario power`, 1,000 hosts) took p99 126–172 ms with 50 % alone against
 * 79–102 ms with V8's own factor (16 alternating runs); with this floor 87–126 ms against V8's own
 * 96–129 ms (6 runs).
 */
export const HEAP_ROOM_FLOOR_BYTES = 256 * 1024 ** 2;
/** V8's own largest factor (4×). */
const V8_MAX_GROWTH_PERCENT = 300;

/**
 * The percent to set with `liveBytes` in the heap: `percent`, raised (in steps of 10) so that the
 * heap may grow by at least `floorBytes`, but not past V8's own 4× unless `percent` asks for more.
 * 0 stays 0 (V8's own choice).
 * @example growthFor(50, 64 * 2 ** 20) // → 300 (V8's own 4×: 256 MiB of room would be 400 %)
 * @example growthFor(50, 400 * 2 ** 20) // → 70 (256 MiB of room on 400 MiB: 64 %, in steps of 10)
 */
export function growthFor(percent: number, liveBytes: number, floorBytes: number = HEAP_ROOM_FLOOR_BYTES): number {
  if (percent === 0) return 0;
  const forFloor = Math.ceil(floorBytes / Math.max(liveBytes, 1) / 0.1 - 1e-9) * 10;
  return Math.min(Math.max(percent, forFloor), Math.max(percent, V8_MAX_GROWTH_PERCENT));
}

export interface HeapGrowthOptions {
  /** node's own arguments: a --heap-growing-percent there wins. @default process.execArgv */
  execArgv?: readonly string[];
  /** @default v8.setFlagsFromString */
  setFlags?: (flags: string) => void;
  /** Bytes in the heap now. @default v8.getHeapStatistics().used_heap_size */
  heapUsed?: () => number;
  /** How often the percent is computed again from the heap's size. @default 2000 */
  everyMs?: number;
}

/**
 * Bounds V8's heap growing factor for this process to `percent` of what the heap holds, with at
 * least HEAP_ROOM_FLOOR_BYTES of room (computed again every `everyMs`; the timer keeps no process
 * alive), unless node was started with its own `--heap-growing-percent` (that one stays).
 * 0 leaves V8 to choose.
 * @example const growth = boundHeapGrowth(50); … growth.stop()
 */
export function boundHeapGrowth(percent: number, o: HeapGrowthOptions = {}): { readonly setTo: number | undefined; stop(): void } {
  if (!Number.isInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWTH_PERCENT) throw new RangeError(`heap growth: ${percent} is not a whole percent from 0 to ${MAX_HEAP_GROWTH_PERCENT}`);
  const none = { setTo: undefined, stop() {} };
  if ((o.execArgv ?? process.execArgv).some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return none;
  const setFlags = o.setFlags ?? setFlagsFromString;
  const heapUsed = o.heapUsed ?? (() => getHeapStatistics().used_heap_size);
  let setTo: number | undefined;
  const apply = () => {
    const p = growthFor(percent, heapUsed());
    if (p !== setTo) setFlags(`--heap-growing-percent=${(setTo = p)}`);
  };
  apply();
  if (percent === 0) return { setTo, stop() {} };
  const timer = setInterval(apply, o.everyMs ?? 2000);
  timer.unref();
  return {
    get setTo() {
      return setTo;
    },
    stop: () => clearInterval(timer),
  };
}

/** EIM_HEAP_GROWTH as the commands read it, else the default: for processes started without the CLI (the benchmarks' children). */
export function heapGrowthFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.EIM_HEAP_GROWTH;
  return v === undefined || v === '' ? DEFAULT_HEAP_GROWTH_PERCENT : heapGrowthPercent(v);
}
