import type { BenchDialect } from './bench-options.ts';

/** One line of the result table. */
export interface ResultRow {
  metric: string;
  dialect: BenchDialect;
  value: number;
  /** 'writes/s', 'ms', 'MB', … */
  unit: string;
  /** What the same run measured to compare against. */
  baseline?: { value: number; label: string };
  /** The bar to clear; never lowered when missed. */
  target?: { op: '>=' | '<='; value: number; label: string };
  /** Why the target's condition was not met however good the value (e.g. the rate it is defined at was not reached). */
  unmet?: string;
  notes?: string;
}

/** Whether the row meets its target (undefined: it has none). */
export function passed(row: ResultRow): boolean | undefined {
  if (!row.target) return undefined;
  if (row.unmet) return false;
  return row.target.op === '>=' ? row.value >= row.target.value : row.value <= row.target.value;
}

/** The verdict column: `pass (1.8× target)` / `MISS (0.62× target)` / `—`. */
export function verdict(row: ResultRow): string {
  const ok = passed(row);
  if (ok === undefined) return '—';
  if (row.unmet) return `MISS (${row.unmet})`;
  if (row.target!.value === 0) return ok ? 'pass' : 'MISS';
  return `${ok ? 'pass' : 'MISS'} (${fmtRatio(row.value / row.target!.value)} target)`;
}

/** Numbers as people read them: 12,345 or 3.21. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export const fmtRatio = (r: number): string => `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
