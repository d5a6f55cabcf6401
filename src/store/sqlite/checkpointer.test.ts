import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../testing/test-stores.ts';
import { openSqliteStore } from './sqlite-store.ts';

// The checkpoint thread copies the WAL into the database file while the writer goes on: with the
// writer's own automatic checkpoint out of reach, the file still grows with what was written.

const region = (i: number) => ({ kind: 'Region', id: `region-${i.toString(16).padStart(8, '0')}`, project: 'p', name: `r${i}`, labels: {}, generation: 1, spec: { note: 'x'.repeat(2000) }, status: {} });

async function fileGrowth(checkpointThread: boolean): Promise<{ before: number; after: number }> {
  const tmp = tempDir();
  const file = join(tmp.dir, 'eim.db');
  const store = await openSqliteStore(file, { walAutocheckpointPages: 1_000_000, checkpointThread });
  try {
    const before = statSync(file).size;
    for (let i = 0; i < 40; i++) await Promise.all(Array.from({ length: 25 }, (_, k) => store.write((tx) => tx.insertIfFree(region(i * 25 + k), 'a'))));
    const deadline = Date.now() + 3000;
    while (statSync(file).size < before + 1_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return { before, after: statSync(file).size };
  } finally {
    await store.close();
    tmp.remove();
  }
}

test('sqlite: the checkpoint thread copies the WAL into the database file while the writer writes on', async () => {
  const on = await fileGrowth(true);
  assert.ok(on.after > on.before + 1_000_000, `the database file grew by ${on.after - on.before} bytes`);
  // Without the thread (and no automatic checkpoint within reach), the pages stay in the WAL.
  const off = await fileGrowth(false);
  assert.ok(off.after < off.before + 1_000_000, `without the thread the file grew by ${off.after - off.before} bytes`);
});

test('sqlite: a store with its checkpoint thread closes promptly and opens again with every write', async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'eim.db');
  try {
    const a = await openSqliteStore(file);
    await a.write((tx) => tx.insertIfFree(region(1), 'a'));
    const t0 = Date.now();
    await a.close();
    assert.ok(Date.now() - t0 < 2000, `close took ${Date.now() - t0} ms`);
    const b = await openSqliteStore(file);
    assert.equal((await b.get(region(1).id))?.name, 'r1');
    await b.close();
  } finally {
    tmp.remove();
  }
});

test('sqlite: closing a store twice returns (the checkpoint thread is gone the second time)', async () => {
  const tmp = tempDir();
  try {
    const a = await openSqliteStore(join(tmp.dir, 'eim.db'));
    await a.close();
    await a.close();
  } finally {
    tmp.remove();
  }
});
