export type { Store, WriteTx, HostIdentity, HostIdentityMatch, Mutation, ListQuery, ListResult, EventQuery, LoggedEvent, RetentionOptions } from './store.ts';
export { eventJson } from './store.ts';
export type { CountByQuery, CountRow } from './count-by.ts';
export { openStore, type OpenStoreOptions } from './open-store.ts';
export { openSqliteStore } from './sqlite/sqlite-store.ts';
export { openPostgresStore } from './postgres/postgres-store.ts';
export { AdvisoryLease, type AdvisoryLeaseOptions } from './postgres/advisory-lease.ts';
export { AuthStore, type SigningKeyRecord, type TokenRecord } from './auth-store.ts';
