import { HOST_TRANSITIONS, transitionAllowed } from '../../../src/api/transitions.ts';
import type { Resource } from '../api/resource.ts';

export interface ActionRule {
  enabled: boolean;
  /** Why it is disabled, in words (shown next to the button and as its tooltip). */
  why?: string;
}

/**
 * Whether Onboard and Invalidate make sense for the host now, by the same transition table the
 * server checks (from the current state), so the console does not offer what the server refuses.
 * @example hostActionRules(untrustedHost).onboard // { enabled: false, why: 'the host is untrusted …' }
 */
export function hostActionRules(host: Pick<Resource, 'spec' | 'status'>): { onboard: ActionRule; invalidate: ActionRule } {
  const current = (host.status?.currentState as string | undefined) ?? 'unspecified';
  const desired = host.spec.desiredState as string;
  const rule = (target: string, verb: string): ActionRule => {
    if (desired === 'deleted') return { enabled: false, why: `${verb}: the host is being deleted` };
    if (desired === target) return { enabled: false, why: `${verb}: already asked (desired state ${target})` };
    if (transitionAllowed(HOST_TRANSITIONS, current, target)) return { enabled: true };
    const allowed = (HOST_TRANSITIONS[current] ?? []).filter((s) => s !== current);
    const untrusted = current === 'untrusted' ? " (its agent's credentials were revoked; enrol it again as a new host)" : '';
    return { enabled: false, why: `${verb} is not possible: the host is ${current}${untrusted}; from there it may only be ${allowed.join(' or ') || 'left as it is'}` };
  };
  return { onboard: rule('onboarded', 'Onboard'), invalidate: rule('untrusted', 'Invalidate') };
}
