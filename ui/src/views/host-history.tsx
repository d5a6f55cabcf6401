import { useEffect, useState } from 'preact/hooks';
import type { InventoryEvent } from '../api/resource.ts';
import { useFleet } from '../fleet.ts';
import { when } from '../format.ts';
import { changedFields } from '../state/changed-fields.ts';

const SHOWN = 200;

/** The host's events (the audit trail: who changed what, when), newest first, growing live. */
export function HostHistory({ hostId }: { hostId: string }) {
  const { api, project, store } = useFleet();
  const [events, setEvents] = useState<InventoryEvent[]>([]);
  const [error, setError] = useState<string>();
  useEffect(() => {
    const abort = new AbortController();
    const live: InventoryEvent[] = [];
    let loaded: InventoryEvent[] | undefined;
    const merge = () => {
      if (!loaded) return;
      const last = loaded.at(-1)?.revision ?? 0;
      setEvents([...loaded, ...live.filter((e) => e.revision > last)].slice(-SHOWN - 1));
    };
    const off = store.onEvent((e) => {
      if (e.id !== hostId) return;
      live.push(e);
      merge();
    });
    api.eventsOf(project, hostId, abort.signal).then(
      (list) => {
        loaded = list;
        merge();
      },
      (e) => abort.signal.aborted || setError((e as Error).message),
    );
    return () => {
      off();
      abort.abort();
    };
  }, [api, project, hostId]);
  const rows = events.map((e, i) => ({ e, changes: i === 0 ? [] : changedFields(events[i - 1].object, e.object) })).slice(-SHOWN).reverse();
  return (
    <section aria-labelledby="hist-title">
      <h2 id="hist-title">Event history</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="grid" data-testid="history">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Revision</th>
            <th scope="col">By</th>
            <th scope="col">What changed</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ e, changes }) => (
            <tr key={e.revision}>
              <td>{when(e.at)}</td>
              <td>{e.type}</td>
              <td>{e.revision}</td>
              <td>{e.actor ?? '—'}</td>
              <td class="changes">{e.type === 'CREATED' ? 'created' : changes.join('; ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
