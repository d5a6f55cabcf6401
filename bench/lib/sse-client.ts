import http from 'node:http';
import { type SseFrame, SseParser } from '../../src/client/index.ts';
import { monoMs } from './clock.ts';

export interface SseWatch {
  /** Resolves once the stream's headers arrived (the watch is registered server-side). */
  opened: Promise<void>;
  close(): void;
}

/** One parsed SSE frame (comment lines dropped). */
export type SseFrameSeen = SseFrame;

/**
 * Opens one Server-Sent Events stream on its own connection and reports each event frame's
 * revision (the `id:` line) with the monotonic time its last byte arrived; BOOKMARK frames are
 * skipped.
 * @example openSse(`${url}/v1/projects/default/watch`, token, (rev, at) => seen.push(rev, at))
 */
export function openSse(url: string, token: string, onEvent: (revision: number, receivedAt: number) => void): SseWatch {
  const { opened, close } = openStream(url, token, (f, at) => {
    if (f.id !== undefined && f.event !== 'BOOKMARK') onEvent(Number(f.id), at);
  });
  return { opened, close };
}

/**
 * Like openSse, but hands over every frame whole (BOOKMARKs included), for watchers that read the
 * events' objects (a Host's status, say) rather than only their revisions.
 * @example openSseFrames(`${url}/v1/projects/default/watch?kinds=hosts`, token, (f, at) => JSON.parse(f.data))
 */
export function openSseFrames(url: string, token: string, onFrame: (frame: SseFrameSeen, receivedAt: number) => void): SseWatch & { ended: Promise<void> } {
  return openStream(url, token, onFrame);
}

/** The connection both share: each frame comes with the monotonic time its last byte arrived. */
function openStream(url: string, token: string, onFrame: (frame: SseFrame, receivedAt: number) => void): SseWatch & { ended: Promise<void> } {
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
      let at = 0;
      const parser = new SseParser((f) => onFrame(f, at));
      res.on('data', (chunk: string) => {
        at = monoMs();
        parser.push(chunk);
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
