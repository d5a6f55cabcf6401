import { useMemo } from 'preact/hooks';
import type { Resource } from '../api/resource.ts';
import { useFleet } from '../fleet.ts';
import { age, when } from '../format.ts';
import { useNow, useStoreVersion } from '../hooks.ts';
import { hostsByTarget, targetId } from '../state/hosts-by-target.ts';

/** Maintenance and OS-update schedules, the windows open now first. */
export function SchedulesView() {
  const { store } = useFleet();
  const version = useStoreVersion(store, 500);
  const covered = useMemo(() => hostsByTarget(store), [version]);
  const now = useNow(10_000);
  const all = [...store.all('Schedule').values()].sort((a, b) => Number(!!b.status?.open) - Number(!!a.status?.open) || a.name.localeCompare(b.name));
  const open = all.filter((s) => s.status?.open);
  const targetName = (s: Resource) => {
    const t = s.spec.target ?? {};
    const [kind, id] = t.hostId ? ['Host', t.hostId] : t.siteId ? ['Site', t.siteId] : ['Region', t.regionId];
    return `${kind.toLowerCase()} ${store.get(kind, id)?.name ?? id}`;
  };
  return (
    <>
      <h1>Schedules</h1>
      <p data-testid="open-windows">
        <strong>{open.length}</strong> window{open.length === 1 ? '' : 's'} open now{open.length ? ': ' : '.'}
        {open.map((s) => s.name).join(', ')}
      </p>
      <table class="grid">
        <caption class="sr-only">Schedules</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Purpose</th>
            <th scope="col">Target</th>
            <th scope="col">When</th>
            <th scope="col">Now</th>
            <th scope="col">Next opens</th>
            <th scope="col">Hosts</th>
          </tr>
        </thead>
        <tbody>
          {all.map((s) => (
            <tr key={s.id} data-schedule={s.name}>
              <td>{s.name}</td>
              <td>{s.spec.purpose}</td>
              <td>{targetName(s)}</td>
              <td>
                {s.spec.single
                  ? `${when(s.spec.single.startAt)} → ${s.spec.single.endAt ? when(s.spec.single.endAt) : 'open-ended'}`
                  : `cron "${s.spec.repeated?.cron}" for ${Math.round((s.spec.repeated?.durationSeconds ?? 0) / 60)} min${s.spec.repeated?.timezone ? ` (${s.spec.repeated.timezone})` : ''}`}
              </td>
              <td class="now">
                {s.status?.open ? (
                  <span class="badge cat-maintenance">open{s.status.closesAt ? `, closes ${age(s.status.closesAt, now)}` : ''}</span>
                ) : s.status?.open === false ? (
                  'closed'
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
              <td class="next">{s.status?.nextOpenAt ? `${when(s.status.nextOpenAt)} (${age(s.status.nextOpenAt, now)})` : '—'}</td>
              <td class="hosts">{covered.get(targetId(s) ?? '') ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {all.length === 0 && <p class="muted">No schedules.</p>}
    </>
  );
}
