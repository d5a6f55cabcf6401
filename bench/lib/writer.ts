import type { Inventory } from '../../src/api/index.ts';
import type { HttpClient } from './http-client.ts';
import { sampleHost } from './sample-host.ts';

/** The two writes the throughput runs make, in-process or over HTTP. */
export interface Writer {
  /** Creates a Host as client `client`; answers its id and revision once committed. */
  create(name: string, client: number): Promise<{ id: string; revision: number }>;
  /** Merge-patches one label of a Host as client `client`. */
  patchLabel(id: string, value: string, client: number): Promise<void>;
}

/** Writes through `InventoryService.as(caller)`. */
export function inProcessWriter(inventory: Inventory): Writer {
  return {
    async create(name) {
      const r = await inventory.create('default', 'Host', sampleHost(name));
      return { id: r.id, revision: r.revision };
    },
    async patchLabel(id, value) {
      await inventory.update('default', 'Host', id, { labels: { seq: value } });
    },
  };
}

/** Writes through the REST API (POST 201, PATCH 200), each client with its token (see HttpClient). */
export function httpWriter(http: HttpClient): Writer {
  return {
    async create(name, client) {
      const r = await http.json<{ id: string; revision: number }>('POST', '/v1/projects/default/hosts', sampleHost(name), 201, client);
      return { id: r.id, revision: r.revision };
    },
    async patchLabel(id, value, client) {
      const r = await http.send('PATCH', `/v1/projects/default/hosts/${id}`, { labels: { seq: value } }, client);
      if (r.status !== 200) throw new Error(`PATCH hosts/${id}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    },
  };
}
