import type { FilterNode } from '../api/filter.ts';
import {
  emptyCategoryCounts, HOST_CATEGORIES, type HostCategory, type HostSummary, type HostSummaryGroup, MAX_SUMMARY_GROUPS, type SummaryGroupBy,
} from '../api/index.ts';
import type { Store } from '../store/index.ts';

/** The host field a grouping reads (a region is the site's: grouped by site, then folded). */
function groupField(g: SummaryGroupBy): readonly string[] {
  switch (g.by) {
    case 'site':
    case 'region':
      return ['spec', 'siteId'];
    case 'label':
      return ['labels', g.key];
    case 'inheritedLabel':
      return ['inheritedLabels', g.key];
  }
}

/**
 * A project's hosts counted per category (`hostCategory`, stored with each host as it is written),
 * over all (or the filter's) and per group, in the store: one GROUP BY over the category and the
 * group's field, so the answer is a handful of rows, not the hosts. Regions are the sites' (looked up
 * in a second small aggregate), and sites and regions come with their names.
 * @example await summarizeHosts(store, 'default', parseFilter('labels.env = canary'), { by: 'region' })
 */
export async function summarizeHosts(store: Store, project: string, filter: FilterNode | undefined, groupBy: SummaryGroupBy | undefined): Promise<HostSummary> {
  const lead = groupBy ? [groupField(groupBy)] : [];
  const rows = await store.countBy({ kind: 'Host', project, filter, fields: [...lead, ['hostCategory']] });
  const summary: HostSummary = { total: 0, counts: emptyCategoryCounts() };
  const groups = new Map<string | null, HostSummaryGroup>();
  let keyOf = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
  const names = new Map<string, string>();
  if (groupBy?.by === 'site' || groupBy?.by === 'region') {
    const sites = await store.countBy({ kind: 'Site', project, fields: [['id'], ['name'], ['spec', 'regionId']] });
    const regionOf = new Map(sites.map((s) => [s.values[0] as string, s.values[2] as string]));
    if (groupBy.by === 'site') for (const s of sites) names.set(s.values[0] as string, s.values[1] as string);
    else {
      for (const r of await store.countBy({ kind: 'Region', project, fields: [['id'], ['name']] })) names.set(r.values[0] as string, r.values[1] as string);
      const siteKey = keyOf;
      keyOf = (v) => regionOf.get(siteKey(v) ?? '') ?? null;
    }
  }
  for (const row of rows) {
    const stored = row.values[lead.length] as HostCategory | null;
    const category: HostCategory = stored !== null && (HOST_CATEGORIES as readonly string[]).includes(stored) ? stored : 'not-seen';
    summary.total += row.count;
    summary.counts[category] += row.count;
    if (!groupBy) continue;
    const key = keyOf(row.values[0]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, ...(key !== null && names.has(key) ? { name: names.get(key)! } : {}), total: 0, counts: emptyCategoryCounts() }));
    g.total += row.count;
    g.counts[category] += row.count;
  }
  if (!groupBy) return summary;
  let list = [...groups.values()];
  if (list.length > MAX_SUMMARY_GROUPS) {
    list = list.sort((a, b) => b.total - a.total).slice(0, MAX_SUMMARY_GROUPS);
    summary.truncated = true;
  }
  // Sites and regions by name (then id), labels by value; hosts without one last.
  const order = (g: HostSummaryGroup) => [g.name ?? g.key ?? '', g.key ?? ''];
  list.sort((a, b) => (a.key === null ? 1 : b.key === null ? -1 : order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return { groupBy: groupBy.by === 'site' || groupBy.by === 'region' ? groupBy.by : `${groupBy.by}.${groupBy.key}`, ...summary, groups: list };
}
