import type { Static } from 'typebox';
import type { AlertStatus as AlertStatusSchema, Resource, ResourceOf } from '../../api/index.ts';

export type AlertRule = ResourceOf<'AlertRule'> & Resource;
export type AlertReceiver = ResourceOf<'AlertReceiver'> & Resource;
export type AlertStatus = Static<typeof AlertStatusSchema>;
/** An Alert: its status is always whole (the manager creates it so). */
export type Alert = Resource<Record<string, never>, AlertStatus>;
export type Silence = ResourceOf<'Silence'> & Resource;

/** The name of the Alert of a (rule, resource): one per pair, so creating it twice is a conflict, never two alerts. */
export const alertName = (ruleId: string, resourceId: string): string => `${ruleId}.${resourceId}`;
