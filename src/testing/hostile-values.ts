import fc from 'fast-check';

/** What the hostile values may draw on: the marker every string carries, and ids worth aiming at. */
export interface HostileEnv {
  /** Put into every generated string, so a copy of it anywhere (a log line) can be found. */
  marker: string;
  /** Ids by prefix (`host` → [...]): of the caller's project and of others, for fields and paths that take ids. */
  ids: Record<string, string[]>;
}

/** A JSON schema, as the OpenAPI document has it (only what the generator reads). */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

/**
 * Strings an attacker sends, each holding `env.marker`: NUL, lone surrogates, right-to-left marks,
 * emoji, huge ones, quotes, SQL and filter syntax, path tricks, HTML.
 * @example fc.sample(hostileString({ marker: 'mk1', ids: {} }), 3)
 */
export function hostileString(env: HostileEnv): fc.Arbitrary<string> {
  return cached(strings, env, makeHostileString);
}

// Building these arbitraries costs milliseconds (string units, regexes): once per env.
const strings = new WeakMap<HostileEnv, fc.Arbitrary<string>>();
const values = new WeakMap<HostileEnv, fc.Arbitrary<unknown>>();
function cached<T>(cache: WeakMap<HostileEnv, T>, env: HostileEnv, make: (env: HostileEnv) => T): T {
  let v = cache.get(env);
  if (v === undefined) cache.set(env, (v = make(env)));
  return v;
}

function makeHostileString(env: HostileEnv): fc.Arbitrary<string> {
  const m = env.marker;
  const ids = Object.values(env.ids).flat();
  return fc.oneof(
    fc.constant(m),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => `${s}${m}`),
    fc.string({ unit: 'binary', maxLength: 12 }).map((s) => `${m}${s}`),
    fc.integer({ min: 1_000, max: 200_000 }).map((n) => `${m}${'x'.repeat(n)}`),
    fc.constantFrom('\u0000', '\ud800', '\udfff', '\u202e', '\ufeff', '😀', 'ß', '\r\n', '\n', '%00', '%', '../', '..%2f', '"', "'", '\\', '${x}', '*', ' ', '', '<script>alert(1)</script>', "' OR '1'='1", '; DROP TABLE x; --').map((s) => `${s}${m}${s}`),
    fc.constantFrom(
      `name = "${m}*"`,
      `labels.${m} = "1"`,
      `spec.${m} > 1`,
      `(name = "${m}"`,
      `NOT ${m}`,
      `name = "${m}" OR project = "other"`,
      `project != "${m}"`,
      `status.hostStatus.indicator = "${m}" AND labels."${m}" = "x"`,
      `${m} desc`,
      `name desc, ${m}`,
      `name = "${m}" ${'AND name != "x" '.repeat(400)}`,
      `${'('.repeat(300)}name = "${m}"${')'.repeat(300)}`,
    ),
    ids.length ? fc.constantFrom(...ids).map((id) => `${id}${m}`) : fc.constant(`host-${m}`),
  );
}

/** Object keys an attacker sends: prototype keys, dotted and empty ones, NUL. */
const keys = new WeakMap<HostileEnv, fc.Arbitrary<string>>();
const hostileKey = (env: HostileEnv) => cached(keys, env, () => fc.oneof(hostileString(env).map((s) => s.slice(0, 200)), fc.constantFrom('__proto__', 'constructor', 'prototype', '', 'a.b', `\u0000${env.marker}`, `$${env.marker}`)));

/** `{a:{a:…}}`, `depth` levels (JSON.stringify handles these; deeper ones are sent as text). */
const nestedObject = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

/**
 * Any JSON value in the wrong place: a hostile string, numbers at the edges, null, booleans,
 * arrays, objects with hostile keys, deep nesting, long arrays.
 */
export function hostileValue(env: HostileEnv): fc.Arbitrary<unknown> {
  return cached(values, env, makeHostileValue);
}

function makeHostileValue(env: HostileEnv): fc.Arbitrary<unknown> {
  const s = hostileString(env);
  return fc.oneof(
    { arbitrary: s, weight: 4 },
    fc.constantFrom(0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 4294967296),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(s, { maxLength: 3 }),
    fc.dictionary(hostileKey(env), s, { maxKeys: 3 }),
    fc.tuple(fc.integer({ min: 20, max: 120 }), s).map(([d, leaf]) => nestedObject(d, leaf)),
    fc.integer({ min: 1_000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => (i === 0 ? env.marker : i))),
  );
}

const plainStrings = new WeakMap<HostileEnv, fc.Arbitrary<string>>();
const plainNames = new WeakMap<HostileEnv, fc.Arbitrary<string>>();
const plainName = (env: HostileEnv) => cached(plainNames, env, (e) => fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/).map((s) => `${s}${e.marker}`));

/** A string a schema's field could take: a known id for id patterns, a name with the marker, a time, or a hostile one. */
function stringFor(schema: JsonSchema, env: HostileEnv, noise: Noise): fc.Arbitrary<string> {
  const m = env.marker;
  const idPrefix = schema.pattern ? /^\^([a-z]+)-\\?\[0-9a-f\]\{8\}\$$/.exec(schema.pattern)?.[1] : undefined;
  if (idPrefix) {
    const known = env.ids[idPrefix] ?? [];
    return fc.oneof(known.length ? fc.constantFrom(...known) : fc.constant(`${idPrefix}-00000000`), fc.constant(`${idPrefix}-0000000f`), ...(env.ids.host?.length ? [fc.constantFrom(...env.ids.host)] : []));
  }
  if (schema.format === 'date-time') return fc.oneof(fc.constant(new Date().toISOString()), fc.constant('2026-01-01T00:00:00.000Z'), fc.constant(`2026-13-45T25:61:00Z${m}`));
  // Names, labels, messages: alphanumeric around the marker, so many pass validation and are stored.
  if (noise === 'none') return plainName(env);
  return cached(plainStrings, env, (e) => fc.oneof({ arbitrary: plainName(e), weight: 3 }, { arbitrary: hostileString(e), weight: 1 }));
}

/**
 * Values shaped by a JSON schema (mostly right, so requests get past the first checks) with
 * hostile values mixed in at every level: wrong types, extra fields, too many items.
 * @example fc.sample(fromSchema({ type: 'object', properties: { name: { type: 'string' } } }, env, 'some'), 5)
 */
export function fromSchema(schema: JsonSchema | undefined, env: HostileEnv, noise: Noise = 'some', depth = 0): fc.Arbitrary<unknown> {
  const hostile = hostileValue(env);
  if (!schema || depth > 6) return noise === 'none' ? fc.constant({}) : hostile;
  const shaped = shapedBy(schema, env, noise, depth);
  return noise === 'none' ? shaped : fc.oneof({ arbitrary: shaped, weight: 8 }, { arbitrary: hostile, weight: 1 });
}

/** `none`: values of the schema's shape (strings still hold the marker); `some`: hostile values and extra fields mixed in. */
export type Noise = 'none' | 'some';

function shapedBy(schema: JsonSchema, env: HostileEnv, noise: Noise, depth: number): fc.Arbitrary<unknown> {
  const fromSchema_ = (s: JsonSchema | undefined) => fromSchema(s, env, noise, depth + 1);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((a) => fromSchema_(a)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const props = schema.properties ?? {};
      const keys = Object.keys(props);
      const known = fc.record(Object.fromEntries(keys.map((k) => [k, fromSchema_(props[k])])), { requiredKeys: (schema.required ?? []).filter((k) => keys.includes(k)) });
      const more = typeof schema.additionalProperties === 'object' ? fc.dictionary(plainName(env), fromSchema_(schema.additionalProperties as JsonSchema), { maxKeys: 4 }) : fc.constant({});
      const extra = noise === 'none' ? fc.constant(null) : fc.oneof({ arbitrary: fc.constant(null), weight: 6 }, { arbitrary: fc.tuple(hostileKey(env), hostileValue(env)), weight: 1 });
      return fc.tuple(known, more, extra).map(([k, a, e]) => {
        const o: Record<string, unknown> = { ...a, ...(k as object) };
        if (e) Object.defineProperty(o, e[0], { value: e[1], enumerable: true, writable: true, configurable: true });
        return o;
      });
    }
    case 'array': {
      const max = Math.min(schema.maxItems ?? 4, 4);
      const items = fc.array(fromSchema_(schema.items), { maxLength: max });
      const over = schema.maxItems !== undefined ? fc.constant(Array.from({ length: schema.maxItems + 1 }, () => env.marker)) : items;
      return noise === 'none' ? items : fc.oneof({ arbitrary: items, weight: 4 }, { arbitrary: over, weight: 1 });
    }
    case 'string':
      return stringFor(schema, env, noise);
    case 'integer': {
      const ok = fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 100_000 });
      return noise === 'none' ? ok : fc.oneof(ok, fc.constantFrom((schema.maximum ?? 1e9) + 1, (schema.minimum ?? 0) - 1, 1.5));
    }
    case 'number': {
      const ok = fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
      return noise === 'none' ? ok : fc.oneof(ok, fc.constantFrom(1e308, -1e308));
    }
    case 'boolean':
      return fc.boolean();
    default:
      return noise === 'none' ? fc.constant(env.marker) : hostileValue(env);
  }
}

/** Percent-encodes any string, lone surrogates included (as the UTF-8 bytes they would have, which no decoder accepts). */
export function percentEncode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    let out = '';
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      if (cp >= 0xd800 && cp <= 0xdfff) out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      else out += encodeURIComponent(ch);
    }
    return out;
  }
}
