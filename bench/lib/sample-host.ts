import { randomUUID } from 'node:crypto';

/**
 * The resource every write benchmark creates: a Host with a realistic spec and two labels.
 * `name` must be unique per run.
 * @example await inventory.create('default', 'Host', sampleHost('bench-1'))
 */
export function sampleHost(name: string) {
  return {
    name,
    labels: { line: '3', bench: 'inventory' },
    spec: { uuid: randomUUID(), serialNumber: `SN-${name}`, desiredState: 'registered', desiredPowerState: 'on', autoProvision: false },
  };
}

/** A short unique prefix, so that runs against the same store never collide on names. */
export const runTag = (): string => Math.random().toString(36).slice(2, 8);
