import { type Inventory, listAll, printable, type Resource, type ResourceOf } from '../api/index.ts';
import { age } from './output/age.ts';

type Schedule = ResourceOf<'Schedule'> & Resource;

/** Regions nest; this bounds the walk up the tree. */
const MAX_DEPTH = 64;

/**
 * The lines of `eim describe host`'s "Maintenance windows" section: whether the host is in a
 * window now and until when, when the next opens (from status.maintenance, which the maintenance
 * manager keeps), and every schedule covering it: its own, its site's and its regions' up the tree.
 * @example const lines = await hostWindowLines(inventory, host)
 */
export async function hostWindowLines(inv: Inventory, host: ResourceOf<'Host'> & Resource, now = Date.now()): Promise<string[]> {
  const chain: { id: string; what: string }[] = [{ id: host.id, what: 'this host' }];
  const siteId = host.spec.siteId;
  if (siteId) {
    const site = await inv.get(host.project, 'Site', siteId);
    chain.push({ id: site.id, what: `site ${site.name}` });
    let regionId: string | undefined = site.spec.regionId;
    for (let depth = 0; regionId && depth < MAX_DEPTH; depth++) {
      const region: ResourceOf<'Region'> & Resource = await inv.get(host.project, 'Region', regionId);
      chain.push({ id: region.id, what: `region ${region.name}` });
      regionId = region.spec.parentRegionId;
    }
  }
  const filter = chain.map((c) => `spec.target.${c.id.startsWith('host-') ? 'hostId' : c.id.startsWith('site-') ? 'siteId' : 'regionId'} = "${c.id}"`).join(' OR ');
  const schedules = (await listAll(inv, host.project, 'Schedule', { filter })).items as Schedule[];
  const m = host.status.maintenance;
  const nowIso = new Date(now).toISOString();
  const when = (iso: string) => `${iso} (${Date.parse(iso) >= now ? `in ${age(nowIso, Date.parse(iso))}` : `${age(iso, now)} ago`})`;
  const lines: string[] = [];
  if (!m) lines.push(schedules.length === 0 ? 'no schedule covers this host' : 'not evaluated yet (is the maintenance manager running?)');
  else {
    lines.push(m.inWindow ? `now:  in a window (${m.purposes.join(', ')})${m.windowEndsAt ? ` until ${when(m.windowEndsAt)}` : ' (no end)'}` : 'now:  not in a window');
    lines.push(`next: ${m.nextWindowAt ? when(m.nextWindowAt) : 'none scheduled'}`);
  }
  for (const s of schedules.sort((a, b) => a.name.localeCompare(b.name))) {
    const target = s.spec.target.hostId ?? s.spec.target.siteId ?? s.spec.target.regionId;
    const via = chain.find((c) => c.id === target)?.what ?? target;
    const rule = s.spec.repeated
      ? `cron "${s.spec.repeated.cron}"${s.spec.repeated.timezone ? ` ${s.spec.repeated.timezone}` : ' UTC'} for ${s.spec.repeated.durationSeconds} s`
      : `from ${s.spec.single?.startAt}${s.spec.single?.endAt ? ` to ${s.spec.single.endAt}` : ' on'}`;
    const open = m?.scheduleIds.includes(s.id) ? ' [open now]' : '';
    lines.push(`- ${s.name} (${s.id}): ${s.spec.purpose}, ${rule}, via ${via}${open}`);
  }
  // Names, cron text and time zones are the data's: shown, never obeyed by the terminal.
  return lines.map(printable);
}
