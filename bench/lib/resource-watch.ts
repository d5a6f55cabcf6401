import type { InventoryEvent } from '../../src/api/index.ts';
import { openSseFrames } from './sse-client.ts';

/**
 * A project watch (`GET /v1/projects/default/watch?kinds=…`) from the bench process that hands
 * each event, parsed, with its receive time (monotonic ms) to `onEvent`. The stream ending is an
 * error (`ended`), since a benchmark would otherwise miss events silently.
 * @example const w = await ResourceWatch.open(url, token, ['hosts'], (e, at) => …); …; w.close()
 */
export class ResourceWatch {
  events = 0;
  private closed = false;

  private constructor(private readonly stream: { close(): void }) {}

  static async open(url: string, token: string, kinds: string[], onEvent: (e: InventoryEvent, receivedAt: number) => void, since?: number): Promise<ResourceWatch> {
    const query = `kinds=${kinds.join(',')}${since !== undefined ? `&since=${since}` : ''}`;
    let watch: ResourceWatch | undefined;
    const s = openSseFrames(`${url}/v1/projects/default/watch?${query}`, token, (f, at) => {
      if (f.event === 'BOOKMARK' || f.data === '') return;
      if (f.event === 'ERROR') throw new Error(`the watch reported: ${f.data.slice(0, 300)}`);
      watch!.events++;
      onEvent(JSON.parse(f.data) as InventoryEvent, at);
    });
    watch = new ResourceWatch(s);
    void s.ended.then(() => {
      if (!watch!.closed) process.stderr.write('resource watch: the server ended the stream; events after this are not seen\n');
    });
    await s.opened;
    return watch;
  }

  close(): void {
    this.closed = true;
    this.stream.close();
  }
}
