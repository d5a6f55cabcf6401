import type { InventoryEvent, Resource } from '../../api/index.ts';
import { printable } from '../../api/printable.ts';
import type { Style, Terminal } from './terminal.ts';

const TYPE_STYLE: Record<string, Style> = { CREATED: 'green', UPDATED: 'yellow', DELETED: 'red' };
const INDICATOR_STYLE: Record<string, Style> = { idle: 'green', in_progress: 'yellow', error: 'red', unspecified: 'dim' };

/** Changes named on one line at most; the rest are counted. */
const MAX_CHANGES = 3;
/** Bookkeeping a reader does not need to see change. */
const QUIET = new Set(['revision', 'generation', 'updatedAt']);
const OBSERVED = 'status.observedGeneration';

type Triple = { message: string; indicator: string; timestamp?: string };
const isTriple = (v: unknown): v is Triple => !!v && typeof v === 'object' && typeof (v as Triple).message === 'string' && typeof (v as Triple).indicator === 'string';

/**
 * One line per event: `REV TYPE KIND NAME (ID) by ACTOR`, and for an update what happened: each
 * status triple that changed as its message and indicator, each state as `from → to`, bigger parts
 * (hardware) by name; with no earlier version at hand, the resource's states now. Strings of the
 * event show their control characters escaped (printable).
 * @example eventLine(out, ev, 'instance', before) // '1042 UPDATED instance edge-01 (inst-0a1b2c3d) by instance-manager: provisioningStatus "installing ubuntu 22.04: 50 %" (in_progress)'
 */
export function eventLine(out: Terminal, ev: InventoryEvent, kindLabel: string, before?: Resource): string {
  const head = `${ev.revision} ${out.paint(TYPE_STYLE[ev.type], printable(ev.type))} ${kindLabel} ${printable(ev.object?.name ?? '?')} (${printable(ev.id)}) by ${printable(ev.actor)}`;
  if (ev.type !== 'UPDATED' || !ev.object) return head;
  const what = before ? changes(out, before, ev.object) : now(out, ev.object);
  return what ? `${head}: ${what}` : head;
}

/** Bookkeeping of the connection: written about once a minute per running host, news to nobody. */
export const HEARTBEAT = 'status.lastSeenAt';

/**
 * Whether the only change from `a` to `b` is `status.lastSeenAt` (the lease judge's once-a-minute
 * write for a running host): `eim watch` and `eim describe` leave such updates out.
 * @example heartbeatOnly(before, ev.object) // true for the minute's lastSeenAt write
 */
export function heartbeatOnly(a: Resource | undefined, b: Resource | undefined): boolean {
  if (!a || !b) return false;
  const before = leaves(a);
  const after = leaves(b);
  let moved = false;
  for (const p of new Set([...before.keys(), ...after.keys()])) {
    if (QUIET.has(p) || same(before.get(p), after.get(p))) continue;
    if (p !== HEARTBEAT) return false;
    moved = true;
  }
  return moved;
}

/** The changes from one version of a resource to the next, most telling first. */
export function changes(out: Terminal, a: Resource, b: Resource): string {
  const before = leaves(a);
  const after = leaves(b);
  let paths = [...new Set([...before.keys(), ...after.keys()])].filter((p) => !QUIET.has(p) && !same(before.get(p), after.get(p)));
  // observedGeneration is news only alone: the manager looked at a new generation and had nothing else to write.
  if (paths.length > 1) paths = paths.filter((p) => p !== OBSERVED);
  if (paths.length === 1 && paths[0] === OBSERVED) return `reconciled generation ${text(after.get(OBSERVED))}`;
  const rank = (p: string) => (isTriple(after.get(p)) ? 0 : /State$/.test(p) ? 1 : p.startsWith('spec.') || p.startsWith('labels.') || p === 'name' ? 2 : 3);
  paths.sort((x, y) => rank(x) - rank(y));
  const parts = paths.slice(0, MAX_CHANGES).map((p) => change(out, p, before.get(p), after.get(p)));
  if (paths.length > MAX_CHANGES) parts.push(`+${paths.length - MAX_CHANGES} more`);
  return parts.join('; ');
}

/** The resource's desired states, states and status messages as they are (no earlier version to compare with). */
function now(out: Terminal, r: Resource): string {
  const parts: string[] = [];
  // What was asked for first (an edit is what most often makes a first update), then what is.
  for (const [k, v] of Object.entries((r.spec ?? {}) as Record<string, unknown>)) if (/^desired/.test(k) && typeof v === 'string') parts.push(printable(`${k} ${v}`));
  for (const [k, v] of Object.entries(r.status ?? {})) {
    if (isTriple(v)) parts.push(`${printable(k)} ${tripleText(out, v)}`);
    else if (/State$/.test(k) && typeof v === 'string') parts.push(printable(`${k} ${v}`));
  }
  return parts.length ? `now ${parts.slice(0, MAX_CHANGES + 1).join('; ')}` : '';
}

function change(out: Terminal, path: string, from: unknown, to: unknown): string {
  const name = printable(path.replace(/^status\./, ''));
  if (isTriple(to)) return `${name} ${tripleText(out, to)}`;
  if (to === undefined) return `${name} removed`;
  if (isPart(from) || isPart(to)) return `${name} changed`;
  return `${name} ${text(from)} → ${text(to)}`;
}

/** A message in quotes: its quotes and backslashes escaped as in JSON, its control characters as printable shows them. */
const quoted = (m: string) => `"${printable(m.replace(/["\\]/g, '\\$&'))}"`;
const tripleText = (out: Terminal, t: Triple) => `${quoted(t.message)} (${out.paint(INDICATOR_STYLE[t.indicator], printable(t.indicator))})`;
const text = (v: unknown) => (v === undefined ? '(unset)' : printable(typeof v === 'string' ? v : JSON.stringify(v)));
const isPart = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v);
const same = (a: unknown, b: unknown) => (isTriple(a) && isTriple(b) ? a.message === b.message && a.indicator === b.indicator : JSON.stringify(a) === JSON.stringify(b));

/**
 * The resource as path → value, two levels deep under spec and status (`status.hardware` stays one
 * part), status triples whole.
 */
function leaves(r: Resource): Map<string, unknown> {
  const out = new Map<string, unknown>();
  out.set('name', r.name);
  for (const [k, v] of Object.entries(r.labels ?? {})) out.set(`labels.${k}`, v);
  for (const part of ['spec', 'status'] as const) {
    for (const [k, v] of Object.entries((r[part] ?? {}) as Record<string, unknown>)) {
      if (isPart(v) && !isTriple(v) && part === 'spec') for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) out.set(`${part}.${k}.${k2}`, v2);
      else out.set(`${part}.${k}`, v);
    }
  }
  return out;
}

/**
 * The last version seen of each resource, for `eim watch` to say what changed; bounded (the least
 * recently seen go first), so a long watch of a large fleet keeps its memory.
 * @example const seen = new LastSeen(); line = eventLine(out, ev, label, seen.swap(ev))
 */
export class LastSeen {
  private readonly objects = new Map<string, Resource>();
  constructor(private readonly max = 10_000) {}

  /** The version seen before this event, remembering the event's. */
  swap(ev: InventoryEvent): Resource | undefined {
    const before = this.objects.get(ev.id);
    this.objects.delete(ev.id);
    if (ev.type !== 'DELETED' && ev.object) {
      this.objects.set(ev.id, ev.object);
      if (this.objects.size > this.max) this.objects.delete(this.objects.keys().next().value!);
    }
    return before;
  }

  get size(): number {
    return this.objects.size;
  }
}
