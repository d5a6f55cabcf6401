import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';
import { createServerLog, defaultLogFormat } from './server-log.ts';

/** A logger writing into a string. */
function capture(format?: 'pretty' | 'json') {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  const log = createServerLog({ format, destination: out });
  return { log, lines: () => text.split('\n').filter(Boolean) };
}

const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|DEBUG|FATAL): \S/;

describe('server log format', () => {
  test('pretty on a terminal, JSON otherwise (a file, journald, a pipe)', () => {
    assert.equal(defaultLogFormat(true), 'pretty');
    assert.equal(defaultLogFormat(false), 'json');
    assert.equal(defaultLogFormat(undefined), 'json');
    const { log, lines } = capture();
    log.info('to a pipe');
    assert.equal(JSON.parse(lines()[0]).msg, 'to a pipe');
  });

  test('pretty: one line per record, the time, the level, the message; fields and errors on the same line', () => {
    const { log, lines } = capture('pretty');
    log.info('eim listening on http://127.0.0.1:8080');
    log.warn({ err: new Error('the store is gone\nsecond line') }, 'southbound write failed; will retry');
    log.info({ host: 'host-0000000a' }, 'with a field');
    const got = lines();
    assert.equal(got.length, 3, got.join('\n'));
    for (const l of got) assert.match(l, PRETTY_LINE);
    assert.match(got[0], /INFO: eim listening on http:\/\/127\.0\.0\.1:8080$/);
    assert.match(got[1], /WARN: southbound write failed; will retry: Error: the store is gone/);
    assert.match(got[2], /with a field \{"host":"host-0000000a"\}$/);
    assert.ok(!got.join('').includes('\u001b['), 'no colour codes when the destination is not a terminal');
  });

  test('secrets are redacted in both formats, at the top level and one level down', () => {
    for (const format of ['pretty', 'json'] as const) {
      const { log, lines } = capture(format);
      log.info({ token: 'SECRET-1', body: { password: 'SECRET-2', sshKey: 'SECRET-3' } }, 'a record');
      const text = lines().join('\n');
      assert.doesNotMatch(text, /SECRET/, format);
      assert.match(text, /\[redacted\]/, format);
    }
  });
});

describe('eim server logs (a real process)', () => {
  test('--log-format pretty: readable lines, and a brand-new data dir says it created project "default"', async (t) => {
    const tmp = tempDir();
    t.after(() => tmp.remove());
    const first = await spawnServer(['--data-dir', tmp.dir, '--log-format', 'pretty']);
    await first.kill();
    const lines = first.output().split('\n').filter(Boolean);
    for (const l of lines) assert.match(l, PRETTY_LINE, first.output());
    assert.ok(
      lines.some((l) => l.includes(`first start: created project "default" and wrote an admin token to ${tmp.dir}/admin.token (mode 0600`)),
      first.output(),
    );
    assert.ok(lines.some((l) => / INFO: eim listening on http:\/\/127\.0\.0\.1:\d+ \(store: .*eim\.db, revision \d+\)$/.test(l)), first.output());
    // The README's Quick start shows these lines: each is what a brand-new data dir prints (times, paths and the port aside).
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const block = /You see the server's first log lines[^`]*```\n([\s\S]*?)```/.exec(readme)?.[1].split('\n').filter(Boolean) ?? [];
    assert.ok(block.length >= 3, 'the README shows the first log lines');
    for (const shown of block) {
      const pattern = new RegExp(
        `^${shown
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\\\[\d\d:\d\d:\d\d\\\.\d{3}\\\]/, '\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\]')
          .replaceAll('/…/\\.eim/', `${tmp.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`)
          .replaceAll(':8080', ':\\d+')}$`,
      );
      assert.ok(lines.some((l) => pattern.test(l)), `the README's line "${shown}" is what the server prints:\n${first.output()}`);
    }

    // Started again (stdout is a pipe here, so JSON by default): no first start, every line JSON.
    const again = await spawnServer(['--data-dir', tmp.dir]);
    await again.kill();
    const records = again.output().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(records.some((r) => r.msg === `admin token: ${tmp.dir}/admin.token`), again.output());
    assert.ok(!records.some((r) => /first start|created project/.test(r.msg)), again.output());
  });
});
