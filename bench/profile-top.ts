// Summarises a V8 CPU profile (node --cpu-prof, e.g. from `npm run bench:inventory -- --cpu-prof <dir>`):
// self time per function and per file, heaviest first.
// Usage: node --import tsx bench/profile-top.ts <file.cpuprofile> [rows=25]
import { fileLabel, functionLabel, printHeaviest, readCpuProfile, tallyBy } from './lib/cpu-profile.ts';

const [file, rowsArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/profile-top.ts <file.cpuprofile> [rows]\n');
  process.exit(2);
}
const limit = Number(rowsArg ?? 25);
const profile = readCpuProfile(file);
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n`);
printHeaviest('self time by function', tallyBy(profile, selfUs, functionLabel), total, limit);
printHeaviest('self time by file', tallyBy(profile, selfUs, fileLabel), total, limit);
