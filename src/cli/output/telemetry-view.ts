import { printable } from '../../api/printable.ts';
import { age } from './age.ts';
import { renderTable } from './table.ts';
import type { DescribeSection } from './describe-view.ts';
import type { Terminal } from './terminal.ts';

interface Source {
  groupId: string;
  profileId: string;
  level: string;
  targetId: string;
  fields?: string[];
}

interface Entry {
  groupId: string;
  collector?: string;
  groups?: string[];
  intervalSeconds?: number;
  level?: string;
}

/** A host's `status.telemetry` as the telemetry manager writes it. */
export interface TelemetryStatus {
  version: string;
  config: { metrics?: Entry[]; logs?: Entry[] } & Record<string, unknown>;
  sources: Source[];
  appliedVersion?: string;
  appliedAt?: string;
}

/**
 * The Telemetry section of `eim describe host`: the version and whether the agent applied it, then
 * one row per group of the effective config with the value used and where it came from (the profile
 * that brought the group in, and the one a value was inherited from; "default" when none set it).
 * It stands for `status.telemetry`, which the status tree then leaves out. Undefined for anything
 * without a telemetry status. Groups, profiles and targets show by name when `nameOf` knows them.
 * @example const s = telemetrySection(out, host)
 */
export function telemetrySection(out: Terminal, r: { status?: unknown }, now: number = Date.now(), nameOf?: (id: string) => string | undefined): DescribeSection | undefined {
  const t = (r.status as { telemetry?: TelemetryStatus } | undefined)?.telemetry;
  if (!t) return undefined;
  const applied =
    t.appliedVersion === t.version
      ? out.paint('green', `applied by the agent ${t.appliedAt ? `${age(t.appliedAt, now)} ago` : ''}`.trim())
      : out.paint('yellow', t.appliedVersion ? `the agent still runs ${printable(t.appliedVersion)}` : 'not applied by the agent yet');
  const summary = `version ${printable(t.version)} (${applied})`;
  const named = (id: string) => nameOf?.(id) ?? id;
  const rows: string[][] = [];
  for (const [type, entries] of [['metrics', t.config.metrics ?? []], ['logs', t.config.logs ?? []]] as const) {
    for (const e of entries) {
      const field = type === 'metrics' ? 'metricsIntervalSeconds' : 'logLevel';
      const value = type === 'metrics' ? `every ${e.intervalSeconds} s` : `level ${e.level}`;
      const mine = t.sources.filter((s) => s.groupId === e.groupId);
      const from = (s: Source) => `${s.level} ${named(s.targetId)} (${named(s.profileId)})`;
      const winner = mine[0];
      const supplier = mine.find((s) => s.fields?.includes(field));
      const origin = !winner ? '-' : supplier === winner ? from(winner) : `${from(winner)}; ${supplier ? `value from ${from(supplier)}` : 'value: default'}`;
      rows.push([type, named(e.groupId), (e.groups ?? []).join(', '), `${e.collector ?? ''}`, value, origin]);
    }
  }
  if (rows.length === 0) return { title: 'Telemetry', summary, lines: ['no telemetry profile applies: the agent collects nothing'], statusFields: ['telemetry'] };
  const inner = { ...out, width: out.width === undefined ? undefined : out.width - 2 };
  return { title: 'Telemetry', summary, lines: renderTable(['TYPE', 'GROUP', 'COLLECTS', 'ON', 'SETTING', 'FROM'], rows, inner).lines, statusFields: ['telemetry'] };
}
