import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isEimError } from '../../api/index.ts';
import { decodeTokenPageToken, encodeTokenPageToken } from './token-page-token.ts';

const key = fc.record({
  createdAt: fc.date({ min: new Date('2000-01-01T00:00:00.000Z'), max: new Date('2999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  id: fc.uuid({ version: 4 }),
});
const project = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,126}[A-Za-z0-9]$/);

test('a page token gives back the key it was made from, for its project only', () => {
  fc.assert(
    fc.property(project, project, key, (p, other, k) => {
      const token = encodeTokenPageToken(p, k);
      assert.match(token, /^[A-Za-z0-9_-]+$/, 'URL-safe as it is');
      assert.deepEqual(decodeTokenPageToken(token, p), { createdAt: k.createdAt, id: k.id });
      if (other !== p) assert.throws(() => decodeTokenPageToken(token, other), (e) => isEimError(e) && e.code === 'invalid_argument' && /another project/.test(e.message));
    }),
  );
});

test('any other text is invalid_argument naming pageToken, never another error', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.base64String(), fc.json().map((j) => Buffer.from(j).toString('base64url'))), (text) => {
      try {
        decodeTokenPageToken(text, 'acme');
      } catch (e) {
        assert.ok(isEimError(e) && e.code === 'invalid_argument' && e.message.startsWith('pageToken ') && e.details?.field === 'pageToken', String(e));
        return;
      }
      assert.fail(`${text} decoded`);
    }),
  );
});
