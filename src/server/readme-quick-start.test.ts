import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import { openTestApp } from '../testing/test-app.ts';

// The README's quick start shows what its curl commands print. This runs them (in-process, on a
// real socket) and checks the README shows what really comes back, line by line, with `…` standing
// for what differs from run to run (ids, times).

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The `# …` lines the README shows right after the command that contains `command`. */
function shown(command: string): string[] {
  const quickStart = README.slice(README.indexOf('## Quick start'), README.indexOf('\n## ', README.indexOf('## Quick start') + 5));
  const lines = quickStart.split('\n');
  const at = lines.findIndex((l) => l.includes(command));
  assert.ok(at >= 0, `the quick start has a command with ${command}`);
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!l.startsWith('#')) break;
    out.push(l.replace(/^# ?/, ''));
  }
  return out;
}

/** `line` matches `pattern`, where `…` in the pattern stands for anything. */
const matches = (pattern: string, line: string) =>
  new RegExp(`^${pattern.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(line);

/** The first `bytes`-worth of an SSE answer's text, until `until` appears in it. */
function readStream(url: string, token: string, until: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        if (text.includes(until)) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
  });
}

test("the README's quick start shows what the API answers: the empty list, the created region, and the watch stream's first lines", async () => {
  const srv = await openTestApp({ listen: true, seed: true });
  try {
    const list = await srv.inject('GET', '/v1/projects/default/hosts', srv.admin);
    assert.deepEqual(shown('/v1/projects/default/hosts'), [list.body]);

    const created = await srv.inject('POST', '/v1/projects/default/regions', srv.admin, { name: 'emea', spec: {} });
    const [createdShown] = shown('/v1/projects/default/regions');
    assert.ok(matches(createdShown, created.body), `${createdShown}\n${created.body}`);

    const stream = await readStream(`${srv.url}/v1/projects/default/watch?since=6`, srv.admin, 'event: CREATED');
    const streamed = stream.split('\n');
    const want = shown('/watch?since=6');
    assert.ok(want.length >= 9, want.join('\n'));
    want.forEach((line, i) => assert.ok(matches(line, streamed[i]), `line ${i + 1}: the README shows\n  ${line}\nthe server sent\n  ${streamed[i]}`));
  } finally {
    await srv.close();
  }
});
