import type { ClosedLoopResult } from './closed-loop.ts';
import { fmt } from './result-row.ts';

/** `42 %` */
export const pct = (v: number): string => `${Math.round(v)} %`;

/** Latency and errors of a closed-loop run, plus extra notes, for the table's notes column. */
export function runNotes(r: ClosedLoopResult, extra: string[]): string {
  return [`p50 ${fmt(r.latency.p50)} ms`, `p99 ${fmt(r.latency.p99)} ms`, ...(r.errors > 0 ? [`${r.errors} errors (first: ${r.firstError?.slice(0, 80)})`] : []), ...extra].join('; ');
}

/** The middle value (the lower one of an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}
