import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KINDS, type KindDef, type Resource } from '../../api/index.ts';
import { columnsFor } from './kind-columns.ts';
import { printResourceTable } from './resource-table.ts';
import { cellText } from './table.ts';
import type { Style, Terminal } from './terminal.ts';

// Every column of every kind prints text, whatever state a resource is in: resources are made
// from the kinds' own schemas, in variants that walk every enum value (states, indicators),
// both booleans, optional fields present and absent, lists empty and full.

type Schema = {
  type?: string;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  patternProperties?: Record<string, Schema>;
};

const VARIANTS = 10;

function sample(s: Schema | undefined, k: number, depth = 0): unknown {
  if (!s || depth > 8) return undefined;
  if (s.enum) return s.enum[k % s.enum.length];
  if (s.anyOf) return sample(s.anyOf[k % s.anyOf.length], k, depth + 1);
  switch (s.type) {
    case 'string': {
      const prefix = /^\^([a-z]+)-\[0-9a-f\]\{8\}\$$/.exec(s.pattern ?? '')?.[1];
      if (prefix) return `${prefix}-${(0x0a1b2c3d + k).toString(16).padStart(8, '0')}`;
      if (s.format === 'date-time') return new Date(Date.parse('2026-01-01T00:00:00Z') + k * 3_600_000).toISOString();
      return k % 4 === 3 ? '' : `text ${k} with spaces`;
    }
    case 'integer':
    case 'number':
      return k % 3 === 0 ? 0 : k * 1_234_567_891;
    case 'boolean':
      return k % 2 === 0;
    case 'array':
      return k % 3 === 0 ? [] : [sample(s.items, k, depth + 1), sample(s.items, k + 1, depth + 1)];
    case 'object': {
      const out: Record<string, unknown> = {};
      const keys = Object.keys(s.properties ?? {});
      keys.forEach((key, i) => {
        if (s.required?.includes(key) || (k + i) % 3 !== 0) out[key] = sample(s.properties![key], k + i, depth + 1);
      });
      if (keys.length === 0) out.nested = { deep: [1, { x: 'y' }], text: 'a "quoted" word' };
      return out;
    }
    default:
      // Type.Unknown(): anything an agent may send.
      return { nested: { deep: [1, 2] } };
  }
}

function resourceOf(def: KindDef, k: number): Resource {
  return {
    kind: def.kind,
    id: `${def.idPrefix}-${(0x10000000 + k).toString(16)}`,
    project: 'default',
    name: `${def.path}-${k}`,
    labels: k % 2 ? { line: String(k), tier: 'edge' } : {},
    revision: 10 + k,
    generation: 1 + (k % 3),
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    spec: (sample(def.spec as Schema | undefined, k) ?? {}) as Record<string, unknown>,
    status: (sample(def.status as Schema | undefined, k) ?? {}) as Record<string, unknown>,
  } as Resource;
}

/** A Terminal that keeps its lines; colour shows as [style:…] so a painted cell is visible. */
function capture(colour: boolean, width?: number): Terminal & { lines: string[] } {
  const lines: string[] = [];
  return {
    isTTY: colour,
    colour,
    width,
    lines,
    write: (t) => void lines.push(t),
    rewrite: (t) => void lines.push(t),
    line: (t = '') => void lines.push(t),
    paint: (style: Style | undefined, t: string) => (colour && style && t ? `\x1b[1m${t}\x1b[22m` : t),
  };
}

const looksLikeJson = /[{}"]|\[object /;

describe('table columns of every kind', () => {
  test('every cell of every column is text, never JSON, for resources in every state', () => {
    let cells = 0;
    for (const def of KINDS) {
      const items = Array.from({ length: VARIANTS }, (_, k) => resourceOf(def, k));
      for (const wide of [false, true]) {
        for (const nameOf of [undefined, (id: string) => (id.endsWith('d') ? undefined : `name-of-${id}`)]) {
          for (const col of columnsFor(def, { wide, allProjects: true })) {
            for (const r of items) {
              const cell = col.value(r, { now: Date.parse('2026-02-01T00:00:00Z'), nameOf, wide });
              assert.ok(typeof cell === 'string' || (typeof cell === 'object' && typeof cell.text === 'string' && Object.keys(cell).every((key) => key === 'text' || key === 'style')), `${def.kind} ${col.header}: not a cell: ${JSON.stringify(cell)}`);
              const text = cellText(cell);
              assert.ok(text.length > 0, `${def.kind} ${col.header} is empty (use "-")`);
              assert.doesNotMatch(text, looksLikeJson, `${def.kind} ${col.header} of ${JSON.stringify(r.status)} prints ${text}`);
              cells++;
            }
          }
        }
      }
    }
    assert.ok(cells > 5000, `${cells} cells checked`);
  });

  test('printed tables (with and without a terminal, plain and wide) show no JSON anywhere', () => {
    for (const def of KINDS) {
      const items = Array.from({ length: VARIANTS }, (_, k) => resourceOf(def, k));
      for (const [colour, width] of [[true, 100], [false, undefined]] as const) {
        for (const wide of [false, true]) {
          const out = capture(colour, width);
          printResourceTable(out, def, items, { wide, allProjects: false });
          assert.equal(out.lines.length, items.length + 1);
          for (const l of out.lines) assert.doesNotMatch(l.replace(/\x1b\[\d+m/g, ''), looksLikeJson, `${def.kind}${wide ? ' -o wide' : ''}: ${l}`);
        }
      }
    }
  });

  test('a schedule open now says "open" (green), and a host in a window names the purposes (yellow)', () => {
    const schedule = KINDS.find((d) => d.kind === 'Schedule')!;
    const host = KINDS.find((d) => d.kind === 'Host')!;
    const ctx = { now: Date.now() };
    const open = columnsFor(schedule, { wide: true, allProjects: false }).find((c) => c.header === 'OPEN')!;
    assert.deepEqual(open.value({ ...resourceOf(schedule, 1), status: { open: true } } as Resource, ctx), { text: 'open', style: 'green' });
    assert.equal(open.value({ ...resourceOf(schedule, 1), status: { open: false } } as Resource, ctx), 'closed');
    const window = columnsFor(host, { wide: true, allProjects: false }).find((c) => c.header === 'WINDOW')!;
    const inWindow = { ...resourceOf(host, 1), status: { maintenance: { inWindow: true, purposes: ['maintenance', 'os-update'], scheduleIds: [] } } } as Resource;
    assert.deepEqual(window.value(inWindow, ctx), { text: 'maintenance,os-update', style: 'yellow' });
  });

  test('references show names in a table and "name (id)" in -o wide; an unknown one shows its id', () => {
    const site = KINDS.find((d) => d.kind === 'Site')!;
    const r = { ...resourceOf(site, 0), spec: { regionId: 'region-0a1b2c3d' } } as Resource;
    const col = (wide: boolean) => columnsFor(site, { wide, allProjects: false }).find((c) => c.header === 'REGION')!;
    const nameOf = (id: string) => (id === 'region-0a1b2c3d' ? 'eu' : undefined);
    assert.equal(col(false).value(r, { now: 0, nameOf }), 'eu');
    assert.equal(col(true).value(r, { now: 0, nameOf, wide: true }), 'eu (region-0a1b2c3d)');
    assert.equal(col(false).value(r, { now: 0, nameOf: () => undefined }), 'region-0a1b2c3d');
    assert.deepEqual([...col(false).refs!(r)], ['region-0a1b2c3d']);
  });

  test('a table fits the terminal, long status messages giving way first; -o wide prints every cell in full', () => {
    const instance = KINDS.find((d) => d.kind === 'Instance')!;
    const message = 'retrying (attempt 3): installing ubuntu 22.04 failed: simulated recoverable failure of install-os: the image server timed out';
    const r = { ...resourceOf(instance, 1), name: 'edge-01', status: { instanceStatus: { indicator: 'in_progress', message, timestamp: '2026-01-01T00:00:00.000Z' }, currentState: 'running' } } as Resource;
    const narrow = capture(false, 100);
    printResourceTable(narrow, instance, [r], { wide: false, allProjects: false });
    assert.ok(narrow.lines.every((l) => l.length <= 100), narrow.lines.join('\n'));
    assert.match(narrow.lines[1], /^edge-01 +inst-\w+ +host-\w+ +/, 'names, ids and references keep their width');
    assert.match(narrow.lines[1], /retrying \(attempt 3\): .*…/, 'the message is cut, with an ellipsis');
    const wide = capture(false, 100);
    printResourceTable(wide, instance, [r], { wide: true, allProjects: false });
    assert.ok(wide.lines[1].includes(message), 'wide: the whole message, whatever the terminal');
  });
});
