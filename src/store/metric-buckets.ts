/** How a series aggregates: gauges by mean/min/max, counters (monotonic sums) by rate per second. */
export type SeriesType = 'gauge' | 'counter';

/** One input to the bucketing: a raw sample, or a rollup cell standing for `count` of them. */
export interface BucketInput {
  t: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  /** The value at the end (raw: the value; rollup: the bucket's last). */
  last: number;
}

export interface BucketPoint {
  t: number;
  value: number;
  min?: number;
  max?: number;
}

interface Acc {
  count: number;
  sum: number;
  min: number;
  max: number;
  firstT: number;
  first: number;
  lastT: number;
  last: number;
}

/**
 * Buckets of `stepMs` from `from`, filled one input at a time (no list of inputs is kept): a gauge
 * bucket is the mean (with min and max) of what fell in it; a counter bucket is the rate per
 * second from the previous bucket's last value to its own (within the bucket when it is the first
 * one with data). A counter that went down (a reboot reset it) gives no point for that bucket.
 * @example const b = new Buckets(0, 60_000, 60_000); b.add({ t: 0, count: 1, sum: 2, min: 2, max: 2, last: 2 }); b.points('gauge') // [{ t: 0, value: 2, min: 2, max: 2 }]
 */
export class Buckets {
  private readonly accs = new Map<number, Acc>();

  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly stepMs: number,
  ) {}

  add(x: BucketInput): void {
    if (x.t < this.from || x.t >= this.to) return;
    const b = this.from + Math.floor((x.t - this.from) / this.stepMs) * this.stepMs;
    const a = this.accs.get(b);
    if (!a) {
      this.accs.set(b, { count: x.count, sum: x.sum, min: x.min, max: x.max, firstT: x.t, first: x.count === 1 ? x.sum : x.last, lastT: x.t, last: x.last });
      return;
    }
    a.count += x.count;
    a.sum += x.sum;
    if (x.min < a.min) a.min = x.min;
    if (x.max > a.max) a.max = x.max;
    if (x.t >= a.lastT) {
      a.lastT = x.t;
      a.last = x.last;
    }
    if (x.t < a.firstT) {
      a.firstT = x.t;
      a.first = x.count === 1 ? x.sum : x.last;
    }
  }

  points(type: SeriesType): BucketPoint[] {
    const keys = [...this.accs.keys()].sort((a, b) => a - b);
    const out: BucketPoint[] = [];
    let prev: Acc | undefined;
    for (const k of keys) {
      const a = this.accs.get(k)!;
      if (type === 'gauge') {
        out.push({ t: k, value: a.sum / a.count, min: a.min, max: a.max });
      } else {
        const [t0, v0] = prev ? [prev.lastT, prev.last] : [a.firstT, a.first];
        const dt = (a.lastT - t0) / 1000;
        const dv = a.last - v0;
        if (dt > 0 && dv >= 0) out.push({ t: k, value: dv / dt });
      }
      prev = a;
    }
    return out;
  }
}

/** Buckets of one series' inputs at once (see Buckets). */
export function bucketize(type: SeriesType, inputs: readonly BucketInput[], from: number, to: number, stepMs: number): BucketPoint[] {
  const b = new Buckets(from, to, stepMs);
  for (const x of inputs) b.add(x);
  return b.points(type);
}
