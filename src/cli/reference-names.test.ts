import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { parseFilter, evaluateFilter } from '../api/filter.ts';
import { KINDS } from '../api/index.ts';
import { ReferenceNames } from './reference-names.ts';

/**
 * An inventory of `n` sites and a region, answering lists (filtered like the server) and counting
 * them; with `perPage`, a page holds at most that many, as a server's byte budget may cut one.
 */
function fakeInventory(sites: number, perPage = Number.POSITIVE_INFINITY) {
  const items: Resource[] = [
    ...Array.from({ length: sites }, (_, i) => ({ kind: 'Site', id: `site-${i.toString(16).padStart(8, '0')}`, name: `site-${i}` })),
    { kind: 'Region', id: 'region-0000000e', name: 'eu' },
  ] as Resource[];
  const calls: { kind: string; filter?: string }[] = [];
  const inv = {
    async list(_project: string, kind: string, o: { filter?: string; pageSize?: number; pageToken?: string } = {}) {
      calls.push({ kind, filter: o.filter });
      const def = KINDS.find((k) => k.kind === kind)!;
      const node = o.filter ? parseFilter(o.filter, def) : undefined;
      const all = items.filter((r) => r.kind === kind && (!node || evaluateFilter(node, r)));
      const start = Number(o.pageToken ?? 0);
      const size = Math.min(o.pageSize ?? 20, perPage);
      const page = all.slice(start, start + size);
      return { items: page, revision: 1, totalSize: all.length, ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}) };
    },
  } as unknown as InventoryClient;
  return { inv, calls };
}

test('names come as one list per referenced kind, never one request per row, and are asked for once', async () => {
  const { inv, calls } = fakeInventory(50);
  const names = new ReferenceNames(inv, 'default');
  const ids = [...Array.from({ length: 40 }, (_, i) => `site-${i.toString(16).padStart(8, '0')}`), 'region-0000000e', 'region-0000000e', 'site-ffffffff'];
  await names.load(ids);
  assert.deepEqual(calls.map((c) => c.kind).sort(), ['Region', 'Site'], 'one list per kind');
  assert.equal(names.nameOf('site-00000027'), 'site-39');
  assert.equal(names.nameOf('region-0000000e'), 'eu');
  assert.equal(names.nameOf('site-ffffffff'), undefined, 'a reference to something gone shows as its id');
  await names.load(ids);
  assert.equal(calls.length, 2, 'known (and missing) ids are not asked for again');
});

test('many ids: batches of 150 per request, or the whole kind listed once', async () => {
  const { inv, calls } = fakeInventory(2000);
  const names = new ReferenceNames(inv, 'default');
  await names.load(Array.from({ length: 300 }, (_, i) => `site-${i.toString(16).padStart(8, '0')}`));
  assert.equal(calls.length, 2, '300 ids in two filtered lists');
  assert.ok(calls.every((c) => (c.filter ?? '').length <= 4096), 'each filter within the server limit');
  assert.equal(names.nameOf('site-0000012b'), 'site-299');
  const all = new ReferenceNames(inv, 'default');
  calls.length = 0;
  await all.load(Array.from({ length: 1500 }, (_, i) => `site-${i.toString(16).padStart(8, '0')}`));
  assert.deepEqual(calls.map((c) => c.filter), [undefined, undefined], 'the whole kind, in pages of 1000');
  assert.equal(all.nameOf('site-000005db'), 'site-1499');
  calls.length = 0;
  await all.load(['site-000007cf']);
  assert.equal(calls.length, 0, 'a kind listed whole is not asked again');
});

test('a page shorter than asked, with a token, is followed: every name is found', async () => {
  const { inv, calls } = fakeInventory(50, 7);
  const names = new ReferenceNames(inv, 'default');
  const ids = Array.from({ length: 40 }, (_, i) => `site-${i.toString(16).padStart(8, '0')}`);
  await names.load(ids);
  assert.deepEqual(ids.filter((id) => names.nameOf(id) === undefined), [], 'none taken for missing');
  assert.equal(calls.length, 6, 'one request per page of 7');
});
