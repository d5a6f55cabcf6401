// Summarises a V8 CPU profile (node --cpu-prof, e.g. from `npm run bench:fleet -- --cpu-prof <dir>`)
// over one time window: self time per function and per file, and inclusive time of eim's own
// functions (src/…), heaviest first. Times are CLOCK_MONOTONIC milliseconds, the clock the
// benchmarks print their windows in (bench/lib/clock.ts), which V8's profile timestamps also use.
// Usage: node --import tsx bench/profile-window.ts <file.cpuprofile> [--from <ms>] [--to <ms>] [--rows <n>]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, rows: { type: 'string' } } });
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: node --import tsx bench/profile-window.ts <file.cpuprofile> [--from <monotonic ms>] [--to <monotonic ms>] [--rows <n>]\n');
  process.exit(2);
}
const limit = Number(values.rows ?? 25);
const fromUs = values.from !== undefined ? Number(values.from) * 1000 : -Infinity;
const toUs = values.to !== undefined ? Number(values.to) * 1000 : Infinity;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
let t = profile.startTime;
let first = Infinity;
let last = -Infinity;
profile.samples.forEach((id, i) => {
  t += profile.timeDeltas[i] ?? 0;
  if (t < fromUs || t > toUs) return;
  first = Math.min(first, t);
  last = Math.max(last, t);
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '~/').replace(/.*\/work\/main\//, '');
const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, limit)) process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
};
const tally = (key: (n: ProfileNode) => string) => {
  const m = new Map<string, number>();
  for (const [id, us] of selfUs) m.set(key(byId.get(id)!), (m.get(key(byId.get(id)!)) ?? 0) + us);
  return m;
};
// Inclusive: each sample counts once for every distinct eim function on its stack.
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const node = byId.get(n)!;
    if (!shortUrl(node.callFrame.url).startsWith('src/')) continue;
    const k = label(node);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled${Number.isFinite(first) ? ` between ${(first / 1000).toFixed(0)} and ${(last / 1000).toFixed(0)} ms (monotonic)` : ''}\n`);
print('self time by function', tally(label));
print('self time by file', tally((n) => shortUrl(n.callFrame.url) || `(${n.callFrame.functionName})`));
print("inclusive time of eim's functions (src/)", inclusive);
