import type { Resource } from './resource.ts';

// The words the southbound layer and the managers use for a host's connection and enrolment, in
// one place so both sides (which may run in different processes) read them the same way.

/** hostStatus message while heartbeats arrive (indicator idle). */
export const HOST_RUNNING = 'running';
/** hostStatus message after 3 missed heartbeat intervals (indicator error). */
export const HOST_NO_CONNECTION = 'no connection';
/**
 * hostStatus message of a host inside a maintenance window whose agent has been silent for longer
 * than the maintenance grace (indicator error): the window forgives a reboot, not a lost machine.
 */
export const HOST_NO_CONNECTION_IN_MAINTENANCE = 'no connection (in maintenance)';

/** registrationStatus message prefix written when an agent enrolls (indicator idle). */
export const AGENT_ENROLLED = 'agent enrolled';

interface TripleHolder {
  registrationStatus?: { indicator?: string; message?: string };
  hostStatus?: { indicator?: string; message?: string };
}

/** Whether the host's agent has enrolled (and holds a token). */
export const isEnrolled = (host: Pick<Resource, 'status'>): boolean => {
  const r = (host.status as TripleHolder).registrationStatus;
  return r?.indicator === 'idle' && (r.message ?? '').startsWith(AGENT_ENROLLED);
};

/** Whether the host's agent is heartbeating now. */
export const isConnected = (host: Pick<Resource, 'status'>): boolean => {
  const h = (host.status as TripleHolder).hostStatus;
  return h?.indicator === 'idle' && h.message === HOST_RUNNING;
};
