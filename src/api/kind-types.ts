import type { Static } from 'typebox';
import type * as K from './kinds.ts';
import type { KindName } from './registry.ts';
import type { Resource } from './resource.ts';

type None = Record<string, never>;

/** Spec and status types of every kind, derived from the schemas. */
export interface KindTypes {
  Region: { spec: Static<typeof K.RegionSpec>; status: None };
  Site: { spec: Static<typeof K.SiteSpec>; status: Static<typeof K.SiteStatus> };
  Host: { spec: Static<typeof K.HostSpec>; status: Static<typeof K.HostStatus> };
  HostNic: { spec: None; status: Static<typeof K.HostNicStatus> };
  HostStorage: { spec: None; status: Static<typeof K.HostStorageStatus> };
  HostGpu: { spec: None; status: Static<typeof K.HostGpuStatus> };
  HostUsb: { spec: None; status: Static<typeof K.HostUsbStatus> };
  OperatingSystem: { spec: Static<typeof K.OperatingSystemSpec>; status: None };
  Instance: { spec: Static<typeof K.InstanceSpec>; status: Static<typeof K.InstanceStatus> };
  Schedule: { spec: Static<typeof K.ScheduleSpec>; status: Static<typeof K.ScheduleStatus> };
  OsUpdatePolicy: { spec: Static<typeof K.OsUpdatePolicySpec>; status: Static<typeof K.OsUpdatePolicyStatus> };
  OsUpdateRun: { spec: None; status: Static<typeof K.OsUpdateRunStatus> };
  TelemetryGroup: { spec: Static<typeof K.TelemetryGroupSpec>; status: None };
  TelemetryProfile: { spec: Static<typeof K.TelemetryProfileSpec>; status: Static<typeof K.TelemetryProfileStatus> };
  LocalAccount: { spec: Static<typeof K.LocalAccountSpec>; status: None };
  CustomConfig: { spec: Static<typeof K.CustomConfigSpec>; status: None };
  Command: { spec: Static<typeof K.CommandSpec>; status: Static<typeof K.CommandStatus> };
}

/** The resource type of a kind name; the untyped envelope for any other string. */
export type ResourceOf<N extends string> = N extends KindName ? Resource<KindTypes[N]['spec'], Partial<KindTypes[N]['status']>> : Resource;
