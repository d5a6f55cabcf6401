import Type, { type Static } from 'typebox';
import { Labels, Name, Timestamp } from './common.ts';

/** The envelope every resource has (ARCHITECTURE.md §4). */
export interface Resource<Spec = Record<string, unknown>, Status = Record<string, unknown>> {
  kind: string;
  id: string;
  project: string;
  name: string;
  labels: Record<string, string>;
  revision: number;
  generation: number;
  createdAt: string;
  updatedAt: string;
  spec: Spec;
  status: Status;
}

export type EventType = 'CREATED' | 'UPDATED' | 'DELETED';

/** One entry of the event log; also the audit trail. */
export interface InventoryEvent {
  type: EventType;
  revision: number;
  kind: string;
  id: string;
  project: string;
  object: Resource;
  actor: string;
  at: string;
}

/** Who is writing: the token's subject and role, or a manager's name. */
export interface Actor {
  subject: string;
  role: Role;
}

export const ROLES = ['viewer', 'editor', 'admin', 'manager', 'agent', 'enrollment'] as const;
export type Role = (typeof ROLES)[number];

/** How an actor is named in events: `alice (admin)`. */
export const actorLabel = (a: Actor): string => `${a.subject} (${a.role})`;

/** Body of a create call. */
export const CreateBody = <S extends import('typebox').TSchema>(spec: S) =>
  Type.Object({ name: Name, labels: Type.Optional(Labels), spec }, { additionalProperties: false });

export const ProjectName = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' });
export type ProjectName = Static<typeof ProjectName>;

export const ResourceEnvelope = {
  kind: Type.String(),
  id: Type.String(),
  project: Type.String(),
  name: Name,
  labels: Labels,
  revision: Type.Integer(),
  generation: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};
