import type { HardwareReport } from '../../api/index.ts';

/**
 * What the agent knows about its machine: `linux` reads the real one, `sim` makes one up from a seed.
 * A scan returns the whole inventory in canonical form (see normalizeHardwareReport).
 */
export interface Discovery {
  scan(): Promise<HardwareReport>;
}
