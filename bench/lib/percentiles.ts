export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Nearest-rank percentiles of a sample (sorted in place).
 * @example distribution([3, 1, 2]) // { n: 3, p50: 2, p99: 3, max: 3 }
 */
export function distribution(values: number[] | Float64Array): Distribution {
  const v = values instanceof Float64Array ? values : Float64Array.from(values);
  v.sort();
  const at = (p: number) => (v.length === 0 ? NaN : v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))]);
  return { n: v.length, p50: at(0.5), p99: at(0.99), max: v.length === 0 ? NaN : v[v.length - 1] };
}
