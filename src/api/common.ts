import Type, { type Static, type TSchema } from 'typebox';

/** Closed objects: an unknown field is a mistake the caller should hear about. */
export const closed = { additionalProperties: false } as const;

export const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 time, UTC' });

export const Indicator = Type.Enum(['unspecified', 'idle', 'in_progress', 'error']);
export type Indicator = Static<typeof Indicator>;

/** What a manager says about one aspect of a resource: a message, its colour, and when. */
export const StatusTriple = Type.Object(
  { message: Type.String({ maxLength: 1024 }), indicator: Indicator, timestamp: Timestamp },
  closed,
);
export type StatusTriple = Static<typeof StatusTriple>;

export const Labels = Type.Record(
  Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$' }),
  Type.String({ maxLength: 256 }),
  { description: 'Free key/value labels, usable in filters as labels.<key>' },
);
export type Labels = Static<typeof Labels>;

export const Name = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$',
  description: 'Unique per kind per project: letters, digits, dot, dash, underscore',
});

/** A reference field holding the id of another resource. */
export const Ref = (prefix: string, description?: string) =>
  Type.String({ pattern: `^${prefix}-[0-9a-f]{8}$`, ...(description ? { description } : {}) });

/** Shorthand: an optional property. */
export const Opt = <T extends TSchema>(t: T) => Type.Optional(t);
