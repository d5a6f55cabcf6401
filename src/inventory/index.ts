export { InventoryService, type InventoryServiceOptions, type InventoryStats } from './inventory-service.ts';
export { WatchHub } from './watch-hub.ts';
export { ROLE_PERMISSIONS, permissionsIn, requirePermission, type Permission } from './access.ts';
export { mergePatch, jsonEqual } from './merge-patch.ts';
