import { type HostNodeConfig, nodeConfigProblems, printable } from '../../api/index.ts';
import { age } from './age.ts';
import type { DescribeSection } from './describe-view.ts';
import { type Cell, renderTable } from './table.ts';
import type { Terminal } from './terminal.ts';

/**
 * The Node configuration section of `eim describe host`: the version and whether the agent applied
 * it, then one row per account and config of the effective set: what it is, what the agent did with
 * it (applied, removed, dry-run, failed, or pending while the version is on its way) and where it
 * came from (the level, its target and the resource; what it overrides). Conflicts and failed items'
 * messages follow. It stands for `status.nodeConfig`, which the status tree then leaves out.
 * @example const s = nodeConfigSection(out, host)
 */
export function nodeConfigSection(out: Terminal, r: { status?: unknown }, now: number = Date.now(), nameOf?: (id: string) => string | undefined): DescribeSection | undefined {
  const nc = (r.status as { nodeConfig?: HostNodeConfig } | undefined)?.nodeConfig;
  if (!nc) return undefined;
  const current = nc.appliedVersion === nc.version;
  const applied = current
    ? out.paint('green', `applied by the agent ${nc.appliedAt ? `${age(nc.appliedAt, now)} ago` : ''}`.trim())
    : out.paint('yellow', nc.appliedVersion ? `the agent still runs ${printable(nc.appliedVersion)}` : 'not applied by the agent yet');
  const summary = `version ${printable(nc.version)} (${applied})`;
  const named = (id: string) => (nameOf?.(id) ? `${nameOf(id)}` : id);
  const results = new Map((current ? (nc.items ?? []) : []).map((i) => [i.item, i]));
  // Styled cells, not painted text: the table measures a cell before it paints it.
  const stateCell = (item: string): Cell => {
    const res = results.get(item);
    if (!res) return { text: current ? '-' : 'pending', style: 'yellow' };
    return { text: res.state, style: res.state === 'failed' ? 'red' : res.state === 'dry-run' ? 'yellow' : 'green' };
  };
  const from = (item: string) => {
    const s = nc.sources.find((x) => x.item === item);
    if (!s) return '-';
    const via = s.via === 'instance' ? ' (named by the instance)' : '';
    return `${s.level} ${named(s.targetId)}: ${named(s.resourceId)}${via}${s.overrides?.length ? `; overrides ${s.overrides.map(named).join(', ')}` : ''}`;
  };
  const rows: Cell[][] = [];
  for (const a of nc.accounts) {
    const item = `account:${a.username}`;
    const what = a.state === 'absent' ? 'absent' : `${a.sshKeys.length} key${a.sshKeys.length === 1 ? '' : 's'}, sudo ${a.sudo}${a.groups.length ? `, groups ${a.groups.join(',')}` : ''}`;
    rows.push(['account', a.username, what, stateCell(item), from(item)]);
  }
  for (const c of nc.configs) {
    const item = `config:${c.sourceId}`;
    const what = c.type === 'file' ? `file ${c.path} (${c.mode}, ${c.owner})` : `cloud-init, run ${c.runPolicy}`;
    rows.push(['config', c.name, what, stateCell(item), from(item)]);
  }
  const lines: string[] = [];
  if (nc.applyStatus) {
    const style = nc.applyStatus.indicator === 'error' ? 'red' : nc.applyStatus.indicator === 'in_progress' ? 'yellow' : 'green';
    // An error's message names the first conflict or failed item, which the lines below the table
    // list each once: count them here instead of saying the first twice.
    const problems = nodeConfigProblems(nc.conflicts?.length ?? 0, [...results.values()].filter((i) => i.state === 'failed').length);
    lines.push(out.paint(style, nc.applyStatus.indicator === 'error' && problems ? `${problems} (below)` : printable(nc.applyStatus.message)));
  }
  const inner = { ...out, width: out.width === undefined ? undefined : out.width - 2 };
  if (rows.length === 0) lines.push('no account or config applies: the agent removes what eim made');
  else lines.push(...renderTable(['TYPE', 'NAME', 'WHAT', 'AGENT', 'FROM'], rows, inner).lines);
  for (const c of nc.conflicts ?? []) lines.push(out.paint('red', `conflict: ${printable(c.message)}`));
  for (const i of results.values()) {
    if (i.state === 'failed') lines.push(out.paint('red', printable(`${i.item} failed${i.recoverable ? ' (retried)' : ''}: ${i.message ?? ''}`)));
    if (i.state === 'dry-run' && i.wouldRun?.length) lines.push(printable(`${i.item} would run: ${i.wouldRun.join('; ')}`));
  }
  return { title: 'Node configuration', summary, lines, statusFields: ['nodeConfig'] };
}
