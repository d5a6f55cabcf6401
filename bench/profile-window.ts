// Summarises a V8 CPU profile (node --cpu-prof, e.g. from `npm run bench:fleet -- --cpu-prof <dir>`)
// over one time window: self time per function and per file, and inclusive time of eim's own
// functions (src/…), heaviest first. Times are CLOCK_MONOTONIC milliseconds, the clock the
// benchmarks print their windows in (bench/lib/clock.ts), which V8's profile timestamps also use.
// Usage: node --import tsx bench/profile-window.ts <file.cpuprofile> [--from <ms>] [--to <ms>] [--rows <n>]
import { parseArgs } from 'node:util';
import { fileLabel, functionLabel, printHeaviest, readCpuProfile, shortUrl, tallyBy } from './lib/cpu-profile.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, rows: { type: 'string' } } });
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: node --import tsx bench/profile-window.ts <file.cpuprofile> [--from <monotonic ms>] [--to <monotonic ms>] [--rows <n>]\n');
  process.exit(2);
}
const limit = Number(values.rows ?? 25);
const fromUs = values.from !== undefined ? Number(values.from) * 1000 : -Infinity;
const toUs = values.to !== undefined ? Number(values.to) * 1000 : Infinity;
const profile = readCpuProfile(file);
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
// Inclusive: each sample counts once for every distinct eim function on its stack.
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const node = profile.byId.get(n)!;
    if (!shortUrl(node.callFrame.url).startsWith('src/')) continue;
    const k = functionLabel(node);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled${Number.isFinite(first) ? ` between ${(first / 1000).toFixed(0)} and ${(last / 1000).toFixed(0)} ms (monotonic)` : ''}\n`);
printHeaviest('self time by function', tallyBy(profile, selfUs, functionLabel), total, limit);
printHeaviest('self time by file', tallyBy(profile, selfUs, fileLabel), total, limit);
printHeaviest("inclusive time of eim's functions (src/)", inclusive, total, limit);
