import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { KindDef } from '../../api/index.ts';
import { age } from './age.ts';
import { columnsFor } from './kind-columns.ts';
import { ProgressBar } from './progress-bar.ts';
import { renderTable, truncate } from './table.ts';
import { terminalOf } from './terminal.ts';

const plain = (width?: number) => ({ width, paint: (_s: unknown, t: string) => t });

describe('renderTable', () => {
  test('aligns columns three spaces apart, without trailing spaces', () => {
    const { lines } = renderTable(['NAME', 'ID'], [['a', 'host-1'], ['longer-name', '-']], plain());
    assert.deepEqual(lines, ['NAME          ID', 'a             host-1', 'longer-name   -']);
  });

  test('fits the width: the widest columns give way first, names and ids last, with …', () => {
    const rows = [['edge-01', 'host-0a1b2c3d', 'a very long status message indeed']];
    const { lines } = renderTable(['NAME', 'ID', 'STATUS'], rows, plain(40), { keep: [0, 1] });
    assert.equal(lines[1], 'edge-01  host-0a1b2c3d  a very long sta…');
    assert.ok(lines.every((l) => l.length <= 40));
  });

  test('every line fits any width the columns can shrink to', () => {
    const cell = fc.string({ maxLength: 40 }).map((s) => s.replace(/\s/g, 'x'));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.array(cell, { minLength: 6, maxLength: 6 }), { maxLength: 5 }), fc.integer({ min: 0, max: 100 }), (n, rows, extra) => {
        const width = n * 4 + (n - 1) * 2 + extra;
        const { lines } = renderTable(Array.from({ length: n }, (_, i) => `H${i}`), rows.map((r) => r.slice(0, n)), plain(width));
        for (const l of lines) assert.ok(l.length <= width, `${JSON.stringify(l)} is wider than ${width}`);
      }),
    );
  });

  test('colour never shifts columns', () => {
    const paint = (s: unknown, t: string) => (s ? `\x1b[31m${t}\x1b[39m` : t);
    const { lines } = renderTable(['A', 'B'], [[{ text: 'x', style: 'red' }, 'y']], { width: undefined, paint });
    assert.equal(lines[1].replace(/\x1b\[\d+m/g, ''), 'x   y');
  });

  test('truncate', () => {
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('abcd', 4), 'abcd');
  });
});

describe('terminal, age and progress', () => {
  test('colour only on a TTY without NO_COLOR; COLUMNS when not a TTY', () => {
    const tty = { isTTY: true, columns: 100 } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    assert.equal(terminalOf(tty, {}).colour, true);
    assert.equal(terminalOf(tty, { NO_COLOR: '1' }).colour, false);
    assert.equal(terminalOf(pipe, {}).colour, false);
    assert.equal(terminalOf(tty, {}).width, 100);
    assert.equal(terminalOf(pipe, { COLUMNS: '72' }).width, 72);
    assert.equal(terminalOf(pipe, {}).width, undefined);
  });

  test('a write shows control characters escaped and keeps the layout\'s newlines and tabs, and paint\'s colours only', () => {
    const stream = (isTTY: boolean) => {
      const chunks: string[] = [];
      return { chunks, s: { isTTY, columns: 80, write: (c: string) => chunks.push(c) } as unknown as NodeJS.WriteStream };
    };
    const evil = 'a\x1b]0;pwned\x07b\x1b[2Jc\x9b31md\u202ee\rf\x1b[8mg';
    const shown = String.raw`a\x1b]0;pwned\x07b\x1b[2Jc\x9b31md\u202ee\rf\x1b[8mg`;
    const tty = stream(true);
    const colour = terminalOf(tty.s, {});
    colour.line(`${colour.paint('red', 'error')}\t${colour.paint('bold', 'x')} ${evil}\nnext`);
    colour.rewrite('[##--] 2/4');
    assert.deepEqual(tty.chunks, [`\x1b[31merror\x1b[39m\t\x1b[1mx\x1b[22m ${shown}\nnext\n`, '\r[##--] 2/4']);
    const pipe = stream(false);
    const plainOut = terminalOf(pipe.s, {});
    plainOut.write(`\x1b[31mred?\x1b[39m ${evil}`);
    assert.deepEqual(pipe.chunks, [String.raw`\x1b[31mred?\x1b[39m ` + shown], 'not colouring: no escape sequence at all');
  });

  test('age', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const at = (s: number) => age('2026-01-01T00:00:00Z', t0 + s * 1000);
    assert.deepEqual([at(5), at(190), at(1800), at(3 * 3600 + 60), at(30 * 3600), at(5 * 86400)], ['5s', '3m10s', '30m', '3h1m', '30h', '5d']);
    assert.equal(age(undefined), '-');
  });

  test('progress bar', () => {
    assert.equal(ProgressBar.render(120, 250), `[${'#'.repeat(14)}${'-'.repeat(16)}] 120/250`);
  });
});

describe('columnsFor', () => {
  test('hosts: the key fields; wide adds more and the labels; all projects adds PROJECT', () => {
    const host = { kind: 'Host' } as KindDef;
    assert.deepEqual(columnsFor(host, { wide: false, allProjects: false }).map((c) => c.header), ['NAME', 'ID', 'DESIRED', 'CURRENT', 'STATUS', 'SITE', 'AGE']);
    const wide = columnsFor(host, { wide: true, allProjects: true }).map((c) => c.header);
    assert.deepEqual([wide[0], wide.at(-1)], ['PROJECT', 'LABELS']);
  });

  test('a kind without hand-made columns gets its scalar spec and status fields', () => {
    const gadget = { kind: 'Gadget', spec: { properties: { sizeBytes: { type: 'integer' }, nested: { type: 'object' }, mode: { enum: ['a'] } } } } as unknown as KindDef;
    assert.deepEqual(columnsFor(gadget, { wide: false, allProjects: false }).map((c) => c.header), ['NAME', 'ID', 'SIZE-BYTES', 'MODE', 'AGE']);
  });
});
