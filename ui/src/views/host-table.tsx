import { useEffect, useRef, useState } from 'preact/hooks';
import type { Resource } from '../api/resource.ts';
import { CategoryBadge } from '../components/status.tsx';
import { age } from '../format.ts';
import { useNow } from '../hooks.ts';
import { hostCategory } from '../state/host-category.ts';
import { locationHref } from '../state/location-filter.ts';
import type { SortKey } from '../state/host-query.ts';

const ROW = 36;
const OVERSCAN = 8;
const COLUMNS: [SortKey | undefined, string][] = [
  ['name', 'Name'],
  ['status', 'Status'],
  ['state', 'Current / desired'],
  [undefined, 'Power'],
  ['site', 'Site'],
  ['lastSeen', 'Last seen'],
  [undefined, 'Labels'],
];

/**
 * The host list, virtualised: only the rows in view (and a few around) are in the DOM, so ten
 * thousand hosts cost what forty do. Column headers sort (click or Enter).
 */
export function HostTable({ rows, sort, desc, onSort, siteName }: { rows: Resource[]; sort: SortKey; desc: boolean; onSort: (s: SortKey) => void; siteName: (id?: string) => string }) {
  const box = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(600);
  const now = useNow(10_000);
  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const first = Math.max(0, Math.floor(scroll / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scroll + height) / ROW) + OVERSCAN);
  const visible = rows.slice(first, last);
  return (
    <div class="table-box" ref={box} onScroll={(e) => setScroll((e.target as HTMLDivElement).scrollTop)} tabIndex={0} aria-label="Hosts">
      <table class="grid hosts" aria-rowcount={rows.length + 1}>
        <thead>
          <tr aria-rowindex={1}>
            {COLUMNS.map(([key, label]) => (
              <th key={label} scope="col" aria-sort={key && key === sort ? (desc ? 'descending' : 'ascending') : undefined}>
                {key ? (
                  <button type="button" class="sort" onClick={() => onSort(key)}>
                    {label}
                    <span aria-hidden="true">{key === sort ? (desc ? ' ▼' : ' ▲') : ''}</span>
                  </button>
                ) : (
                  label
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && <tr class="spacer" style={{ height: `${first * ROW}px` }} aria-hidden="true" />}
          {visible.map((h, i) => (
            <tr key={h.id} aria-rowindex={first + i + 2} data-host={h.name} data-revision={h.revision}>
              <td>
                <a href={`#/hosts/${h.id}`}>{h.name}</a>
              </td>
              <td>
                <CategoryBadge category={hostCategory(h)} />
              </td>
              <td class="state">
                {h.status?.currentState ?? 'unspecified'}
                {h.status?.currentState !== h.spec?.desiredState && <span class="muted"> → {h.spec?.desiredState}</span>}
              </td>
              <td>{h.status?.currentPowerState ?? '—'}</td>
              <td>{h.spec?.siteId ? <a href={locationHref({ site: h.spec.siteId })}>{siteName(h.spec.siteId)}</a> : <span class="muted">unallocated</span>}</td>
              <td title={h.status?.lastSeenAt}>{age(h.status?.lastSeenAt, now)}</td>
              <td class="labels">
                {Object.entries(h.labels ?? {}).map(([k, v]) => (
                  <span key={k} class="chip">
                    {k}={v}
                  </span>
                ))}
              </td>
            </tr>
          ))}
          {last < rows.length && <tr class="spacer" style={{ height: `${(rows.length - last) * ROW}px` }} aria-hidden="true" />}
        </tbody>
      </table>
      {rows.length === 0 && <p class="empty">No hosts match.</p>}
    </div>
  );
}
