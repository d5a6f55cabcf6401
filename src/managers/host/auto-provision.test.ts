import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Inventory, ListPage, Resource } from '../../api/index.ts';
import { AutoProvisioner, NoDefaultOsError } from './auto-provision.ts';

const os = (name: string) => ({ kind: 'OperatingSystem', id: `os-${name.padStart(8, '0')}`, name, labels: { default: 'true' } }) as unknown as Resource;

test('two OS profiles labelled default are refused when the page holds only the first (a byte budget cut it short)', async () => {
  const page: ListPage = { items: [os('a')], revision: 1, totalSize: 2, nextPageToken: 'more' };
  const inventory = { list: async () => page } as unknown as Inventory;
  const provisioner = new AutoProvisioner(inventory, {} as ConstructorParameters<typeof AutoProvisioner>[1]);
  await assert.rejects(provisioner.defaultOs('default'), (e: unknown) => {
    assert.ok(e instanceof NoDefaultOsError, String(e));
    assert.match(e.message, /2 OS profiles .* are labelled default=true/);
    return true;
  });
  page.totalSize = 1;
  delete page.nextPageToken;
  assert.equal((await provisioner.defaultOs('default')).name, 'a', 'the only one labelled is the default');
});
