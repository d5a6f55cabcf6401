import { done, type Result } from '../../reconcile/index.ts';

/**
 * One result for a reconcile made of steps: a failure (retry, terminal) wins, then the soonest
 * requeueAfter, else done.
 * @example return soonest(await autoProvision(host), await power(host))
 */
export function soonest(...results: Result[]): Result {
  const failure = results.find((r) => r.type === 'retry' || r.type === 'terminal');
  if (failure) return failure;
  let best: Result = done();
  for (const r of results) if (r.type === 'requeueAfter' && (best.type !== 'requeueAfter' || r.ms < best.ms)) best = r;
  return best;
}
