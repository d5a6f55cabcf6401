import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A V8 CPU profile as node --cpu-prof writes it (times in µs). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
  /** Each node by its id. */
  byId: Map<number, ProfileNode>;
}

/**
 * Reads a .cpuprofile file, for bench/profile-top.ts and bench/profile-window.ts.
 * @example const p = readCpuProfile('CPU.….cpuprofile'); p.byId.get(p.samples[0])
 */
export function readCpuProfile(file: string): CpuProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Omit<CpuProfile, 'byId'>;
  return { ...profile, byId: new Map(profile.nodes.map((n) => [n.id, n])) };
}

/** A script's URL relative to the repository (`src/…`), or to node_modules (`~/…`). */
export const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '~/').replace(/.*\/work\/main\//, '');

/** `name  file:line` of a node's function. */
export const functionLabel = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

/** A node's file, or its name in parentheses when it has none (`((garbage collector))`). */
export const fileLabel = (n: ProfileNode) => shortUrl(n.callFrame.url) || `(${n.callFrame.functionName})`;

/** Self time (µs) by node id, summed per `key`. */
export function tallyBy(p: CpuProfile, selfUs: Map<number, number>, key: (n: ProfileNode) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const k = key(p.byId.get(id)!);
    m.set(k, (m.get(k) ?? 0) + us);
  }
  return m;
}

/** Prints `title` and the `limit` heaviest of `m` (µs): share of `totalUs`, ms, key. */
export function printHeaviest(title: string, m: Map<string, number>, totalUs: number, limit: number): void {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, limit)) process.stdout.write(`${((100 * us) / totalUs).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
}
