import { useConnection } from '../hooks.ts';
import type { LiveSync } from '../state/live-sync.ts';

const WORDS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Disconnected' };

/**
 * The watch stream's state, always in view: live, reconnecting (and from which revision it will
 * resume), or stopped with the reason. Screen readers hear changes (role=status).
 */
export function ConnectionIndicator({ sync }: { sync: LiveSync }) {
  const s = useConnection(sync);
  const detail =
    s.state === 'live'
      ? `at revision ${s.revision}`
      : s.state === 'reconnecting'
        ? `resuming from revision ${s.revision}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}`
        : (s.error ?? '');
  return (
    <div
      class={`conn conn-${s.state}`}
      role="status"
      data-testid="connection"
      data-state={s.state}
      data-revision={s.revision}
      data-lists={s.lists}
      data-resumes={s.resumes}
      data-events={s.events}
      title={s.error ?? detail}
    >
      <span class="dot" aria-hidden="true" />
      <span>{WORDS[s.state]}</span>
      <span class="muted small">{detail}</span>
    </div>
  );
}
