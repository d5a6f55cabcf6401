import type { StatusTriple } from '../api/resource.ts';
import { age } from '../format.ts';
import { CATEGORY_LABELS, type HostCategory } from '../state/host-category.ts';

/** A host's tile category as a coloured badge with its words (colour is never the only cue). */
export function CategoryBadge({ category }: { category: HostCategory }) {
  return <span class={`badge cat-${category}`}>{CATEGORY_LABELS[category]}</span>;
}

/**
 * One status triple as a table row: name, indicator, message, age. A triple nobody wrote yet shows
 * `absent` (what else is known, e.g. the power state the agent reported), not an indicator.
 */
export function TripleRow({ name, triple, now, absent }: { name: string; triple: StatusTriple | undefined; now: number; absent?: string }) {
  if (!triple) {
    return (
      <tr>
        <th scope="row">{name}</th>
        <td class="muted">—</td>
        <td class="muted">{absent ?? 'not reported yet'}</td>
        <td class="muted">—</td>
      </tr>
    );
  }
  return (
    <tr>
      <th scope="row">{name}</th>
      <td>
        <span class={`badge ind-${triple.indicator ?? 'unspecified'}`}>{(triple.indicator ?? 'unspecified').replace('_', ' ')}</span>
      </td>
      <td>{triple.message || '—'}</td>
      <td title={triple.timestamp}>{age(triple.timestamp, now)}</td>
    </tr>
  );
}

/** A table of status triples; the third element of an entry is what to say while that triple is absent. */
export function Triples({ caption, triples, now }: { caption: string; triples: [string, StatusTriple | undefined, string?][]; now: number }) {
  return (
    <table class="grid">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Status</th>
          <th scope="col">Indicator</th>
          <th scope="col">Message</th>
          <th scope="col">Age</th>
        </tr>
      </thead>
      <tbody>
        {triples.map(([n, t, absent]) => (
          <TripleRow key={n} name={n} triple={t} now={now} absent={absent} />
        ))}
      </tbody>
    </table>
  );
}

/** A bar for a share, with the numbers in words. */
export function Progress({ value, max, label }: { value: number; max: number; label: string }) {
  return (
    <span class="progress-wrap">
      <progress value={value} max={Math.max(max, 1)} aria-label={label} />
      <span class="muted">
        {value} / {max}
      </span>
    </span>
  );
}
