import type { Resource } from './resource.ts';
import type { ResourceOf } from './kind-types.ts';

type OsUpdateRun = ResourceOf<'OsUpdateRun'> & Resource;

/** Where a run stands. */
export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'aborted';

/**
 * A run's outcome from its status: running until endedAt is set; then phase `done` is success,
 * `failed` or `rolled-back` a failure, anything else (`aborted`) neither.
 */
export function runOutcome(run: OsUpdateRun): RunOutcome {
  const s = run.status;
  if (!s.endedAt) return 'running';
  if (s.phase === 'done') return 'succeeded';
  return s.phase === 'failed' || s.phase === 'rolled-back' ? 'failed' : 'aborted';
}
