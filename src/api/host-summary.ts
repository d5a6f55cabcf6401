import Type, { type Static } from 'typebox';
import { EimError } from './errors.ts';
import { HOST_CATEGORIES } from './host-category.ts';

// The fleet summary (`GET /v1/projects/{p}/hosts:summary`): hosts counted per category, per group.

/** How hosts are grouped: by site, by the site's region, by a label or by an inherited label. */
export type SummaryGroupBy = { by: 'site' } | { by: 'region' } | { by: 'label' | 'inheritedLabel'; key: string };

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
export const SUMMARY_GROUP_BY_HINT = 'groupBy is site, region, label.<key> or inheritedLabel.<key>';

/** Groups one summary answers at most; the rest are counted in `total` and `truncated` says so. */
export const MAX_SUMMARY_GROUPS = 1000;

/**
 * Parses `groupBy`: `site`, `region`, `label.<key>`, `inheritedLabel.<key>` (the key as a label
 * key is written, dots and slashes included). Undefined for none; `invalid_argument` otherwise.
 * @example parseSummaryGroupBy('inheritedLabel.example.com/ring') // { by: 'inheritedLabel', key: 'example.com/ring' }
 */
export function parseSummaryGroupBy(text: string | undefined): SummaryGroupBy | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'site' || text === 'region') return { by: text };
  const m = /^(label|inheritedLabel)\.(.*)$/s.exec(text);
  if (!m) throw new EimError('invalid_argument', `${SUMMARY_GROUP_BY_HINT} (got ${JSON.stringify(text.slice(0, 80))})`);
  if (!LABEL_KEY.test(m[2])) throw new EimError('invalid_argument', `groupBy ${m[1]}.<key>: the key must start with a letter or digit and hold only letters, digits and . _ / - (at most 63 characters)`);
  return { by: m[1] as 'label' | 'inheritedLabel', key: m[2] };
}

export const HostCategoryCounts = Type.Object(Object.fromEntries(HOST_CATEGORIES.map((c) => [c, Type.Integer({ minimum: 0 })])) as Record<(typeof HOST_CATEGORIES)[number], ReturnType<typeof Type.Integer>>, {
  description: 'Hosts per category (see the console tiles): each host in exactly one',
});

export const HostSummaryGroup = Type.Object({
  /** The site or region id, the label value; null: hosts without one. */
  key: Type.Union([Type.String(), Type.Null()], { description: 'the site or region id, or the label value; null for hosts without one' }),
  name: Type.Optional(Type.String({ description: "the site's or region's name" })),
  total: Type.Integer({ minimum: 0 }),
  counts: HostCategoryCounts,
});

export const HostSummary = Type.Object(
  {
    groupBy: Type.Optional(Type.String()),
    total: Type.Integer({ minimum: 0, description: 'hosts matching the filter' }),
    counts: HostCategoryCounts,
    groups: Type.Optional(Type.Array(HostSummaryGroup, { description: `groups by name (sites, regions) or value (labels), hosts without one last, at most ${MAX_SUMMARY_GROUPS}` })),
    truncated: Type.Optional(Type.Boolean({ description: `more than ${MAX_SUMMARY_GROUPS} groups: the largest are given` })),
  },
  { title: 'HostSummary', description: 'Hosts counted per connection/health category, over the whole (filtered) fleet and per group' },
);
export type HostSummary = Static<typeof HostSummary>;
export type HostSummaryGroup = Static<typeof HostSummaryGroup>;
export type HostCategoryCounts = Static<typeof HostCategoryCounts>;

/** Zero in every category. */
export const emptyCategoryCounts = (): HostCategoryCounts => Object.fromEntries(HOST_CATEGORIES.map((c) => [c, 0])) as HostCategoryCounts;
