import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_ERROR_MESSAGE } from '../api/index.ts';
import { openTestApp } from '../testing/test-app.ts';

// Found by the OpenAPI fuzz (issue 9): an unknown field in a 3,000-character filter or orderBy, or
// a request with thousands of unknown fields, came back whole in the error message (3 kB for a
// 3 kB query; a body of 1 MiB of field names came back as a 1 MiB message). Messages are cut.
// And a spec with 8 or more unknown fields said only "invalid spec: " (TypeBox stops at 8 errors
// before the one naming them): it names them now.

test('an error message is at most 1,024 characters, however much of the request it quotes', async () => {
  const srv = await openTestApp({});
  try {
    const long = `q${'x'.repeat(3000)}`;
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`field${i}`, 1]));
    const answers = [
      await srv.inject('GET', `/v1/hosts?filter=${long}`, srv.admin),
      await srv.inject('GET', `/v1/projects/default/hosts?orderBy=${encodeURIComponent(`name ${long}`)}`, srv.admin),
      await srv.inject('POST', '/v1/projects/default/tokens', srv.admin, { role: 'viewer', ...many }),
      await srv.inject('POST', '/v1/projects/default/regions', srv.admin, { name: 'r', spec: many }),
    ];
    for (const r of answers) {
      assert.equal(r.statusCode, 400, r.body.slice(0, 200));
      const { message } = r.json().error;
      assert.ok(message.length <= MAX_ERROR_MESSAGE, `${message.length} characters: ${message.slice(0, 120)}`);
      assert.match(message, /unknown field|expected "asc"/, 'and still says what was wrong');
    }
  } finally {
    await srv.close();
  }
});
