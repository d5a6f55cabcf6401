import http from 'node:http';
import { monoMs } from './clock.ts';

export interface SseWatch {
  /** Resolves once the stream's headers arrived (the watch is registered server-side). */
  opened: Promise<void>;
  close(): void;
}

/**
 * Opens one Server-Sent Events stream on its own connection and reports each event frame's
 * revision (the `id:` line) with the monotonic time its last byte arrived; BOOKMARK frames are
 * skipped. It reads only the `id:` and `event:` lines, so 100 watchers in one process stay cheap.
 * @example openSse(`${url}/v1/projects/default/watch`, token, (rev, at) => seen.push(rev, at))
 */
export function openSse(url: string, token: string, onEvent: (revision: number, receivedAt: number) => void): SseWatch {
  let req: http.ClientRequest | undefined;
  const opened = new Promise<void>((resolve, reject) => {
    req = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch ${url}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      resolve();
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        const at = monoMs();
        buf += chunk;
        let pos = 0;
        let end: number;
        while ((end = buf.indexOf('\n\n', pos)) >= 0) {
          if (buf.startsWith('id: ', pos)) {
            const nl = buf.indexOf('\n', pos);
            if (!buf.startsWith('event: BOOKMARK', nl + 1)) onEvent(Number(buf.slice(pos + 4, nl)), at);
          }
          pos = end + 2;
        }
        buf = buf.slice(pos);
      });
      res.on('error', () => {});
    });
    req.on('error', reject);
  });
  return { opened, close: () => req?.destroy() };
}

/** One parsed SSE frame (comment lines dropped). */
export interface SseFrameSeen {
  id?: string;
  event: string;
  data: string;
}

/**
 * Like openSse, but hands over every frame whole (BOOKMARKs included), for watchers that read the
 * events' objects (a Host's status, say) rather than only their revisions.
 * @example openSseFrames(`${url}/v1/projects/default/watch?kinds=hosts`, token, (f, at) => JSON.parse(f.data))
 */
export function openSseFrames(url: string, token: string, onFrame: (frame: SseFrameSeen, receivedAt: number) => void): SseWatch & { ended: Promise<void> } {
  let req: http.ClientRequest | undefined;
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  const opened = new Promise<void>((resolve, reject) => {
    req = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch ${url}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      resolve();
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        const at = monoMs();
        buf += chunk;
        let pos = 0;
        let stop: number;
        while ((stop = buf.indexOf('\n\n', pos)) >= 0) {
          const frame: SseFrameSeen = { event: 'message', data: '' };
          for (const line of buf.slice(pos, stop).split('\n')) {
            if (line.startsWith('id: ')) frame.id = line.slice(4);
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data += line.slice(6);
          }
          if (frame.data !== '' || frame.id !== undefined) onFrame(frame, at);
          pos = stop + 2;
        }
        buf = buf.slice(pos);
      });
      res.on('end', end);
      res.on('error', end);
    });
    req.on('error', (e) => {
      end();
      reject(e);
    });
  });
  return { opened, ended, close: () => req?.destroy() };
}
