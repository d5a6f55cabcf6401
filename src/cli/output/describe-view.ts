import type { InventoryEvent, Resource } from '../../api/index.ts';
import { printable } from '../../api/printable.ts';
import { age } from './age.ts';
import { HEARTBEAT } from './event-line.ts';
import { humanBytes, valueAt } from './kind-columns.ts';
import { renderTable } from './table.ts';
import { nodeConfigSection } from './node-config-view.ts';
import { telemetrySection } from './telemetry-view.ts';
import type { Style, Terminal } from './terminal.ts';

/** A line as shown and its visible text (for widths: colour codes take no room). */
export interface Line {
  plain: string;
  painted: string;
}

const INDICATOR_STYLE: Record<string, Style> = { idle: 'green', in_progress: 'yellow', error: 'red', unspecified: 'dim' };
const COLUMN_GAP = 4;

export interface DescribeInput {
  resource: Resource;
  /** The kind has `status.observedGeneration` (its manager reconciles it). */
  reconciled: boolean;
  /** The kind has a status at all (declarative kinds do not). */
  hasStatus: boolean;
  /** The resource's most recent events, oldest first. */
  events: InventoryEvent[];
  /** The event before the first shown one, so the first shown change can be named. */
  previous?: InventoryEvent;
  /** How many events exist in all (more than shown when the window is cut). */
  eventCount: number;
  /** Updates left out because they only moved `status.lastSeenAt` (a running host's minute). */
  heartbeatEvents?: number;
  /** Sections the caller fetched (a host's maintenance windows), shown after the resource's own. */
  sections?: DescribeSection[];
  /** Names of the resources it refers to: ids show as `os-0a1b2c3d (ubuntu-22.04)`. */
  nameOf?: (id: string) => string | undefined;
}

/** A titled block after spec and status: `Title:   summary`, then its lines indented. */
export interface DescribeSection {
  title: string;
  summary?: string;
  lines: string[];
  /** Status fields the section stands for, left out of the status tree. */
  statusFields?: string[];
}

/** Sections a resource's own fields make, by kind-agnostic probes (each answers undefined when it does not apply). */
const OWN_SECTIONS = [telemetrySection, nodeConfigSection];

/** How a value is shown: ids with the name of what they name, sizes in bytes readable. */
export interface ValueText {
  nameOf?: (id: string) => string | undefined;
}

/**
 * kubectl-describe-like view: the envelope, spec next to status (or one above the other when the
 * terminal is too narrow), status triples as `message (indicator, 3m ago)`, and recent events.
 * Strings of the resource show their control characters escaped (printable); `sections` come
 * made printable by whoever made them.
 */
export function printDescribe(out: Terminal, d: DescribeInput, now: number = Date.now()): void {
  const r = d.resource;
  const labels = printable(Object.entries(r.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')) || '-';
  const rows: [string, string][] = [
    ['Name', printable(r.name)],
    ['Kind', printable(r.kind)],
    ['ID', printable(r.id)],
    ['Project', printable(r.project)],
    ['Labels', labels],
    ['Revision', String(r.revision)],
    ['Generation', generationText(out, r, d.reconciled)],
    ['Created', `${printable(r.createdAt)} (${age(r.createdAt, now)} ago)`],
    ['Updated', `${printable(r.updatedAt)} (${age(r.updatedAt, now)} ago)`],
  ];
  for (const [k, v] of rows) out.line(`${out.paint('bold', `${k}:`)}${' '.repeat(12 - k.length)}${v}`);
  out.line();

  const sections = [...OWN_SECTIONS.map((make) => make(out, r, now, d.nameOf)).filter((s) => s !== undefined), ...(d.sections ?? [])];
  const shownElsewhere = new Set(sections.flatMap((s) => s.statusFields ?? []));
  const vt: ValueText = { nameOf: d.nameOf };
  const spec = treeLines(out, r.spec ?? {}, now, vt);
  const ownStatus = Object.fromEntries(Object.entries(r.status ?? {}).filter(([k]) => !shownElsewhere.has(k)));
  const status = d.hasStatus ? treeLines(out, ownStatus, now, vt) : [{ plain: '(none: a declarative kind)', painted: out.paint('dim', '(none: a declarative kind)') }];
  if (spec.length === 0) spec.push({ plain: '{}', painted: '{}' });
  if (status.length === 0) status.push({ plain: '(not reported yet)', painted: out.paint('dim', '(not reported yet)') });
  sideBySide(out, { title: 'Spec (desired)', lines: spec }, { title: 'Status (current)', lines: status });

  for (const section of sections) {
    out.line();
    out.line(`${out.paint('bold', `${section.title}:`)}${section.summary ? `   ${section.summary}` : ''}`);
    for (const l of section.lines) out.line(`  ${l}`);
  }

  out.line();
  const cut = d.events.length < d.eventCount ? `last ${d.events.length} of ${d.eventCount}` : '';
  const quiet = d.heartbeatEvents ? `${d.heartbeatEvents} lastSeenAt ${d.heartbeatEvents === 1 ? 'update' : 'updates'} not shown` : '';
  const shown = cut || quiet ? ` (${[cut, quiet].filter(Boolean).join('; ')})` : '';
  out.line(out.paint('bold', `Events${shown}:`));
  if (d.events.length === 0) return out.line('  (none in the retained history)');
  const headers = ['TYPE', 'REV', 'ACTOR', 'AGE', 'CHANGED'];
  const table = d.events.map((ev, i) => [ev.type, String(ev.revision), ev.actor, age(ev.at, now), changedText(ev, i === 0 ? d.previous : d.events[i - 1])]);
  const inner = { ...out, width: out.width === undefined ? undefined : out.width - 2 };
  for (const l of renderTable(headers, table, inner).lines) out.line(`  ${l}`);
}

function generationText(out: Terminal, r: Resource, reconciled: boolean): string {
  if (!reconciled) return String(r.generation);
  const observed = valueAt(r, 'status.observedGeneration');
  if (observed === undefined) return `${r.generation} ${out.paint('yellow', '(not observed by its manager yet)')}`;
  if (observed === r.generation) return `${r.generation} ${out.paint('green', '(observed: up to date)')}`;
  return `${r.generation} ${out.paint('yellow', `(observed ${observed}: reconciling)`)}`;
}

function sideBySide(out: Terminal, left: { title: string; lines: Line[] }, right: { title: string; lines: Line[] }): void {
  const leftWidth = Math.max(left.title.length, ...left.lines.map((l) => l.plain.length));
  const rightWidth = Math.max(right.title.length, ...right.lines.map((l) => l.plain.length));
  const width = out.width ?? 120;
  if (leftWidth + COLUMN_GAP + rightWidth > width) {
    for (const block of [left, right]) {
      out.line(out.paint('bold', `${block.title}:`));
      for (const l of block.lines) out.line(`  ${l.painted}`);
      if (block === left) out.line();
    }
    return;
  }
  const pad = (l: Line | undefined) => (l ? l.painted + ' '.repeat(leftWidth - l.plain.length) : ' '.repeat(leftWidth));
  out.line(`${out.paint('bold', left.title)}${' '.repeat(leftWidth - left.title.length + COLUMN_GAP)}${out.paint('bold', right.title)}`);
  for (let i = 0; i < Math.max(left.lines.length, right.lines.length); i++) {
    out.line(`${pad(left.lines[i])}${' '.repeat(COLUMN_GAP)}${right.lines[i]?.painted ?? ''}`.trimEnd());
  }
}

const isTriple = (v: unknown): v is { message: string; indicator: string; timestamp: string } =>
  !!v && typeof v === 'object' && 'indicator' in v && 'message' in v && 'timestamp' in v;

const scalar = (v: unknown, vt: ValueText = {}, key = '') => {
  if (typeof v === 'string') {
    const name = vt.nameOf?.(v);
    return printable(name === undefined ? v : `${v} (${name})`);
  }
  if (typeof v === 'number' && /Bytes$/.test(key)) return `${humanBytes(v)} (${v} bytes)`;
  return JSON.stringify(v);
};

/**
 * An object as indented `key: value` lines; status triples as `message (indicator, age ago)`,
 * ids with the names of what they name, `…Bytes` sizes readable.
 */
export function treeLines(out: Terminal, obj: object, now: number, vt: ValueText = {}, indent = ''): Line[] {
  const lines: Line[] = [];
  const plainLine = (text: string) => lines.push({ plain: text, painted: text });
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const head = `${indent}${printable(k)}:`;
    if (isTriple(v)) {
      const note = `(${printable(v.indicator)}, ${age(v.timestamp, now)} ago)`;
      const message = printable(v.message);
      lines.push({ plain: `${head} ${message} ${note}`, painted: `${head} ${out.paint(INDICATOR_STYLE[v.indicator], message)} ${out.paint('dim', note)}` });
    } else if (Array.isArray(v)) {
      if (v.every((x) => x === null || typeof x !== 'object')) plainLine(`${head} ${v.length ? v.map((x) => scalar(x, vt)).join(', ') : '[]'}`);
      else {
        plainLine(head);
        for (const item of v) {
          const sub = treeLines(out, item as object, now, vt, `${indent}    `);
          if (sub[0]) sub[0] = { plain: `${indent}  - ${sub[0].plain.trimStart()}`, painted: `${indent}  - ${sub[0].painted.trimStart()}` };
          lines.push(...sub);
        }
      }
    } else if (v && typeof v === 'object') {
      const sub = treeLines(out, v, now, vt, `${indent}  `);
      if (sub.length === 0) plainLine(`${head} {}`);
      else lines.push({ plain: head, painted: head }, ...sub);
    } else plainLine(`${head} ${scalar(v, vt, k)}`);
  }
  return lines;
}

/** What an event changed compared with the one before it: `spec.desiredState, labels.line`. */
function changedText(ev: InventoryEvent, before: InventoryEvent | undefined): string {
  if (ev.type === 'CREATED') return 'created';
  if (ev.type === 'DELETED') return 'deleted';
  if (!before) return '-';
  const a = leaves(before.object);
  const b = leaves(ev.object);
  const paths = new Set([...a.keys(), ...b.keys()]);
  let changed = [...paths].filter((p) => a.get(p) !== b.get(p));
  // lastSeenAt moves every minute of a running host's life: named only when nothing else changed.
  if (changed.length > 1) changed = changed.filter((p) => p !== HEARTBEAT);
  return changed.join(', ') || '-';
}

const IGNORED = new Set(['revision', 'generation', 'updatedAt']);

function leaves(obj: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (obj && typeof obj === 'object' && !Array.isArray(obj) && !isTriple(obj)) {
    for (const [k, v] of Object.entries(obj)) if (!(prefix === '' && IGNORED.has(k))) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(obj));
  return out;
}
