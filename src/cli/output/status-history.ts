import type { InventoryEvent } from '../../api/index.ts';
import { age } from './age.ts';
import type { DescribeSection } from './describe-view.ts';
import { renderTable } from './table.ts';
import type { Style, Terminal } from './terminal.ts';

/** One change of a status triple, read off the event log. */
export interface StatusChange {
  revision: number;
  at: string;
  actor: string;
  field: string;
  indicator: string;
  message: string;
}

const isTriple = (v: unknown): v is { message: string; indicator: string } =>
  !!v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string' && typeof (v as { indicator?: unknown }).indicator === 'string';

/** `installing ubuntu 22.04: 50 %` and `…: 75 %` are one step in progress, not two changes. */
const progressFree = (m: string) => m.replace(/:?\s*\d+(\.\d+)?\s?%/g, '');

const STYLE: Record<string, Style> = { idle: 'green', in_progress: 'yellow', error: 'red', unspecified: 'dim' };

/**
 * The recent changes of a resource's status triples (each `retrying (attempt N): …`, each error,
 * each recovery), from its events in order. Keeps the last `keep`; consecutive progress updates
 * of one step count as one change (the latest).
 * @example const h = new StatusHistory(); for (const ev of events) h.add(ev); h.changes
 */
export class StatusHistory {
  private readonly last = new Map<string, string>();
  readonly changes: StatusChange[] = [];
  /** Changes seen in all (more than kept when the history is long). */
  count = 0;

  constructor(private readonly keep = 15) {}

  add(ev: InventoryEvent): void {
    if (ev.type === 'DELETED') return;
    const status = (ev.object?.status ?? {}) as Record<string, unknown>;
    for (const [field, v] of Object.entries(status)) {
      if (!isTriple(v)) continue;
      const key = `${v.indicator}\u0000${v.message}`;
      if (this.last.get(field) === key) continue;
      this.last.set(field, key);
      const change: StatusChange = { revision: ev.revision, at: ev.at, actor: ev.actor, field, indicator: v.indicator, message: v.message };
      // Progress of one step replaces its previous line, unless something else changed in between.
      const i = this.changes.findLastIndex((c) => c.field === field);
      const prev = this.changes[i];
      if (
        prev && v.indicator === 'in_progress' && prev.indicator === 'in_progress' && /%/.test(v.message) && progressFree(prev.message) === progressFree(v.message) &&
        this.changes.slice(i + 1).every((c) => c.revision <= prev.revision)
      ) {
        this.changes[i] = change;
        continue;
      }
      this.count++;
      this.changes.push(change);
      if (this.changes.length > this.keep) this.changes.shift();
    }
  }

  /** The "Status changes" section of eim describe; undefined when no triple ever changed. */
  section(out: Terminal, now: number = Date.now()): DescribeSection | undefined {
    if (this.changes.length === 0) return undefined;
    const shown = this.count > this.changes.length ? `last ${this.changes.length} of ${this.count}` : `${this.count}`;
    const rows = this.changes.map((c) => [age(c.at, now), c.field, { text: c.indicator, style: STYLE[c.indicator] }, c.message, c.actor]);
    const inner = { ...out, width: out.width === undefined ? undefined : out.width - 2 };
    return { title: 'Status changes', summary: `${shown}, oldest first (from the event log)`, lines: renderTable(['AGE', 'FIELD', 'INDICATOR', 'MESSAGE', 'BY'], rows, inner, { long: [3] }).lines };
  }
}
