/**
 * Desired-state transition tables (ARCHITECTURE.md §4): from the *current* state, which desired
 * states a user may ask for. Anything else is `failed_precondition`.
 */
export const HOST_TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
  unspecified: ['registered', 'onboarded', 'untrusted', 'deleted'],
  registered: ['registered', 'onboarded', 'deleted'],
  onboarded: ['onboarded', 'untrusted', 'deleted'],
  untrusted: ['untrusted', 'deleted'],
  deleted: ['deleted'],
};

export const INSTANCE_TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
  unspecified: ['running', 'untrusted', 'deleted'],
  running: ['running', 'untrusted', 'deleted'],
  untrusted: ['deleted'],
  deleted: ['deleted'],
};

/**
 * Whether `desired` may be requested while the resource's current state is `current`.
 * @example transitionAllowed(HOST_TRANSITIONS, 'untrusted', 'onboarded') // false
 */
export function transitionAllowed(table: Readonly<Record<string, readonly string[]>>, current: string | undefined, desired: string): boolean {
  return (table[current ?? 'unspecified'] ?? table.unspecified).includes(desired);
}
