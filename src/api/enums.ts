import Type, { type Static } from 'typebox';

export const HostDesiredState = Type.Enum(['registered', 'onboarded', 'untrusted', 'deleted']);
export type HostDesiredState = Static<typeof HostDesiredState>;
export const HostCurrentState = Type.Enum(['unspecified', 'registered', 'onboarded', 'untrusted', 'deleted']);
export type HostCurrentState = Static<typeof HostCurrentState>;

export const InstanceDesiredState = Type.Enum(['running', 'untrusted', 'deleted']);
export type InstanceDesiredState = Static<typeof InstanceDesiredState>;
export const InstanceCurrentState = Type.Enum(['unspecified', 'running', 'untrusted', 'deleted']);
export type InstanceCurrentState = Static<typeof InstanceCurrentState>;

export const PowerState = Type.Enum(['on', 'off', 'reset', 'power-cycle']);
export type PowerState = Static<typeof PowerState>;
export const CurrentPowerState = Type.Enum(['unspecified', 'on', 'off', 'reset', 'power-cycle']);
