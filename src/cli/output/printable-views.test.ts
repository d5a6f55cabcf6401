import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InventoryEvent, KindDef, Resource } from '../../api/index.ts';
import { printBulkSummary } from './bulk-summary.ts';
import { printDescribe } from './describe-view.ts';
import { eventLine } from './event-line.ts';
import { instanceOsSection } from './os-view.ts';
import { printResourceTable } from './resource-table.ts';
import { StatusHistory } from './status-history.ts';
import { printSummaryTable } from './summary-table.ts';
import type { Style, Terminal } from './terminal.ts';

// Each human view makes the data's control characters printable before it measures and paints:
// driven here through a colouring Terminal that writes what it is given (no guard of its own), so
// only paint's SGR codes may be left, and columns line up with them taken out.

const SGR: Record<Style, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], blue: [34, 39], cyan: [36, 39], dim: [2, 22], bold: [1, 22] };
function colourCapture(width = 400): Terminal & { text: () => string } {
  const chunks: string[] = [];
  return {
    isTTY: true, colour: true, width,
    write: (t) => void chunks.push(t),
    rewrite: (t) => void chunks.push(`\r${t}`),
    line: (t = '') => void chunks.push(`${t}\n`),
    paint: (s, t) => (s && t ? `\x1b[${SGR[s][0]}m${t}\x1b[${SGR[s][1]}m` : t),
    text: () => chunks.join(''),
  };
}
const OWN_SGR = /\x1b\[(?:1|2|22|31|32|33|34|36|39)m/g;
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** The text as it shows: paint's codes out; fails on any other control character. */
function shown(text: string, what: string): string {
  const plain = text.replace(OWN_SGR, '');
  const m = RAW.exec(plain);
  if (m) assert.fail(`${what}: a raw U+${m[0].codePointAt(0)!.toString(16).padStart(4, '0')}: ${JSON.stringify(plain.slice(Math.max(0, m.index - 50), m.index + 50))}`);
  return plain;
}

const EVIL = 'x\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1A\u202eexe\r\n\ty';
const SHOWN = String.raw`x\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1A\u202eexe\r\n\ty`;
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const T = '2026-03-01T11:00:00.000Z';
const triple = (indicator: string, message: string) => ({ indicator, message, timestamp: T });

const host = {
  kind: 'Host', id: 'host-0a1b2c3d', project: 'default', name: 'edge-01', labels: { note: EVIL }, revision: 9, generation: 1, createdAt: T, updatedAt: T,
  spec: { desiredState: 'onboarded', siteId: 'site-00000001' },
  status: {
    currentState: 'onboarded',
    hostStatus: triple('error', EVIL),
    hardware: { hostname: EVIL, [`k${EVIL}`]: 1 },
    telemetry: {
      version: `v${EVIL}`, appliedVersion: `old${EVIL}`,
      config: { metrics: [{ groupId: 'telemetrygroup-00000001', collector: EVIL, groups: [EVIL], intervalSeconds: 15 }] },
      sources: [{ groupId: 'telemetrygroup-00000001', profileId: 'telemetryprofile-00000001', level: 'site', targetId: EVIL, fields: [] }],
    },
    nodeConfig: {
      version: `n${EVIL}`, appliedVersion: `n${EVIL}`, appliedAt: T,
      accounts: [{ username: 'ops', sshKeys: ['k'], sudo: 'none', groups: [], state: 'present', sourceId: 'localaccount-00000001' }],
      configs: [{ sourceId: 'customconfig-00000001', name: EVIL, type: 'file', runPolicy: 'once', path: EVIL, mode: '0644', owner: 'root' }],
      sources: [{ item: 'config:customconfig-00000001', resourceId: 'customconfig-00000001', level: 'selector', targetId: EVIL, via: 'target' }],
      conflicts: [{ item: 'account:ops', keptId: 'a', ignoredId: 'b', message: EVIL }],
      items: [
        { item: 'account:ops', state: 'dry-run', wouldRun: [EVIL] },
        { item: 'config:customconfig-00000001', state: 'failed', message: EVIL },
      ],
      applyStatus: triple('in_progress', EVIL),
    },
  },
} as unknown as Resource;
const ev = (type: InventoryEvent['type'], object: Resource, actor = EVIL): InventoryEvent => ({ type, revision: object.revision, kind: 'Host', id: object.id, project: 'default', object, actor, at: T }) as InventoryEvent;
const before = { ...host, labels: { note: 'plain' }, status: { currentState: EVIL, hostStatus: triple('idle', 'ok') } } as unknown as Resource;

describe('the human views show control characters in data escaped, with paint\'s colours and aligned columns', () => {
  test('get: a table and -o wide', () => {
    for (const wide of [false, true]) {
      const out = colourCapture(wide ? 400 : 90);
      printResourceTable(out, { kind: 'Host' } as KindDef, [host, { ...host, name: 'edge-02', status: { hostStatus: triple('idle', 'fine') } } as Resource], { wide, allProjects: false, nameOf: (id) => (id.startsWith('site-') ? `site${EVIL}` : undefined) });
      const lines = shown(out.text(), `get${wide ? ' -o wide' : ''}`).trimEnd().split('\n');
      if (wide) assert.ok(lines[1].includes(SHOWN) && lines[1].includes(`note=${SHOWN}`), lines[1]);
      const age = lines[0].indexOf('AGE');
      for (const l of lines.slice(1)) assert.match(l.slice(age - 1), /^ \d+[smhdy]/, `AGE lines up:\n${lines.join('\n')}`);
      if (!wide) assert.ok(lines.every((l) => l.length <= 90), lines.join('\n'));
    }
  });

  test('describe: the envelope, the trees, the telemetry and node configuration sections, status changes, events, the OS section', () => {
    const out = colourCapture(400);
    const history = new StatusHistory();
    history.add(ev('UPDATED', before));
    history.add(ev('UPDATED', host));
    const inst = { ...host, kind: 'Instance', spec: { osId: 'os-00000001' }, status: { currentOsId: 'os-00000002' } } as unknown as Resource;
    const os = instanceOsSection(inst, [], (id) => `${id}${EVIL}`, NOW)!;
    printDescribe(out, { resource: host, reconciled: true, hasStatus: true, events: [ev('CREATED', before), ev('UPDATED', host)], eventCount: 2, sections: [history.section(out, NOW)!, os], nameOf: (id) => (id.startsWith('site-') ? `site${EVIL}` : undefined) }, NOW);
    const text = shown(out.text(), 'describe');
    for (const expected of [
      `Labels:      note=${SHOWN}`,
      `hostStatus: ${SHOWN} (error, 1h ago)`,
      `siteId: site-00000001 (site${SHOWN})`,
      `hostname: ${SHOWN}`,
      `k${SHOWN}: 1`,
      `Telemetry:   version v${SHOWN} (the agent still runs old${SHOWN})`,
      `Node configuration:   version n${SHOWN}`,
      `conflict: ${SHOWN}`,
      `config:customconfig-00000001 failed: ${SHOWN}`,
      `account:ops would run: ${SHOWN}`,
      `runs os-00000002${SHOWN}`,
    ]) assert.ok(text.includes(expected), `${expected}\n---\n${text}`);
    // The node configuration table, its AGENT column painted: the FROM column lines up all the same.
    const all = text.split('\n');
    const head = all.findIndex((l) => /^\s+TYPE\s+NAME\s+WHAT\s+AGENT\s+FROM$/.test(l));
    const table = all.slice(head, head + 3);
    const from = table[0].indexOf('FROM');
    assert.ok(from > 0 && table.slice(1).every((l) => /^\S/.test(l.slice(from)) && /\s$/.test(l.slice(0, from))), `FROM lines up:\n${table.join('\n')}`);
  });

  test('watch: an event line', () => {
    const out = colourCapture();
    const line = shown(eventLine(out, ev('UPDATED', host), 'host', before), 'event line');
    assert.ok(line.includes(`by ${SHOWN}: hostStatus "${SHOWN}" (error)`), line);
    assert.ok(line.includes(`currentState ${SHOWN} → onboarded`), line);
    assert.ok(shown(eventLine(out, ev('UPDATED', host), 'host'), 'first update').includes(`hostStatus "${SHOWN}" (error)`));
  });

  test('the fleet summary grouped by a label, and a bulk change\'s failures', () => {
    const out = colourCapture();
    const counts = { running: 1, 'no-connection': 0, error: 0, 'in-progress': 0, maintenance: 0, 'not-seen': 0 };
    printSummaryTable(out, { groupBy: 'label.note', total: 1, counts, groups: [{ key: EVIL, total: 1, counts }] } as never);
    assert.ok(shown(out.text(), 'summary').includes(SHOWN));
    const err = colourCapture();
    printBulkSummary(out, err, { changed: [], unchanged: [], failed: [{ item: 'h', error: { message: EVIL, code: 'internal' } }] } as never, (h) => `host/${h}`);
    assert.equal(shown(err.text(), 'bulk failures'), `  host/h: ${SHOWN} (internal)\n`);
  });
});
