export { startManagers, type StartManagersOptions, type Managers, type ManagersStats } from './start-managers.ts';
export { HostManager, type HostManagerOptions, INVALIDATED_MESSAGE } from './host/host-manager.ts';
export { InstanceManager, type InstanceManagerOptions } from './instance/instance-manager.ts';
export { DEFAULT_OS_LABEL, AUTO_PROVISIONED_LABEL } from './host/auto-provision.ts';
export { commandName } from './shared/command-tracker.ts';
export { TelemetryManager, type TelemetryManagerOptions, type TelemetryManagerStats } from './telemetry/telemetry-manager.ts';
export { effectiveTelemetry, configVersion, type TelemetryConfig, type EffectiveTelemetry } from './telemetry/effective-telemetry.ts';
export { planUpdate, type UpdatePlan, type OsCatalog } from './maintenance/os-update-plan.ts';
export { runOutcome } from './maintenance/os-update-run-cache.ts';
