import { isConnected, isEnrolled } from '../../api/index.ts';
import type { Host } from './manager-deps.ts';

/**
 * Why an instance cannot be provisioned on this host now, or '' when it can: the host must be
 * enrolled, onboarded and connected. Also the signature the instance manager compares to decide
 * whether a host change concerns its instances.
 * @example hostNotReady(host) // 'no connection'
 */
export function hostNotReady(host: Host | undefined): string {
  if (!host) return 'host not found';
  const desired = host.spec.desiredState;
  if (desired === 'deleted') return 'the host is being deleted';
  if (desired === 'untrusted' || host.status.currentState === 'untrusted') return 'the host is untrusted';
  if (!isEnrolled(host)) return 'its agent has not enrolled yet';
  if (host.status.currentState !== 'onboarded') return `not onboarded yet: currentState ${host.status.currentState ?? 'unspecified'}, desiredState ${desired}`;
  if (!isConnected(host)) return 'no connection';
  return '';
}
