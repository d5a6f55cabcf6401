import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { getHeapSnapshot } from 'node:v8';
import { flattenHead } from './flatten-head.ts';

/** Whether the heap holds one flat string with the whole head: its status line and `marker`. */
async function flatHeadInHeap(marker: string): Promise<boolean> {
  let json = '';
  for await (const chunk of getHeapSnapshot()) json += chunk;
  const snap = JSON.parse(json) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const type = fields.indexOf('type');
  const name = fields.indexOf('name');
  const stringType = snap.snapshot.meta.node_types[0].indexOf('string');
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    if (snap.nodes[i + type] !== stringType) continue;
    const text = snap.strings[snap.nodes[i + name]];
    if (text.startsWith('HTTP/1.1 200') && text.includes(marker)) return true;
  }
  return false;
}

test('flattenHead: the head Node keeps for an open response becomes one flat string, the same text', async () => {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  const marker = randomUUID();
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-marker': marker });
  const before = (res as unknown as { _header: string })._header;
  // Node concatenates the head line by line: pieces, not one string.
  assert.equal(await flatHeadInHeap(marker), false);
  flattenHead(res);
  assert.equal(await flatHeadInHeap(marker), true);
  assert.equal((res as unknown as { _header: string })._header, before);
  assert.equal(res.headersSent, true);
});

test('flattenHead: a response without a head yet is left as it is', () => {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  flattenHead(res);
  assert.equal(res.headersSent, false);
});
