// Holds SSE watchers for the benchmark in a process of its own, so that their parsing does not
// share an event loop with the paced writer. Driven over IPC (advanced serialisation):
//   { cmd: 'open', url, tokens }        → { type: 'opened' } (one watcher per token given)
//   { cmd: 'progress' }                 → { type: 'progress', lowest } (lowest revision every watcher reached)
//   { cmd: 'collect' }                  → { type: 'results', watchers: { revisions, times }[] } (Float64Arrays)
// It exits when the parent disconnects.
import { openSse, type SseWatch } from './sse-client.ts';

interface Seen {
  revisions: number[];
  times: number[];
}

type Command = { cmd: 'open'; url: string; tokens: string[] } | { cmd: 'progress' } | { cmd: 'collect' };

const watches: SseWatch[] = [];
const seen: Seen[] = [];

process.on('message', (m: Command) => {
  void handle(m).catch((e: Error) => {
    process.send!({ type: 'error', message: e.message });
  });
});
process.once('disconnect', () => {
  for (const w of watches) w.close();
  process.exit(0);
});

async function handle(m: Command): Promise<void> {
  if (m.cmd === 'open') {
    const opened: Promise<void>[] = [];
    for (const token of m.tokens) {
      const s: Seen = { revisions: [], times: [] };
      seen.push(s);
      const w = openSse(m.url, token, (revision, at) => {
        s.revisions.push(revision);
        s.times.push(at);
      });
      watches.push(w);
      opened.push(w.opened);
    }
    await Promise.all(opened);
    process.send!({ type: 'opened' });
  } else if (m.cmd === 'progress') {
    const lowest = Math.min(...seen.map((s) => s.revisions.at(-1) ?? 0));
    process.send!({ type: 'progress', lowest });
  } else {
    process.send!({ type: 'results', watchers: seen.map((s) => ({ revisions: Float64Array.from(s.revisions), times: Float64Array.from(s.times) })) });
    for (const s of seen) {
      s.revisions.length = 0;
      s.times.length = 0;
    }
  }
}
