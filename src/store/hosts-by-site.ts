import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Hosts counted per site and category, as fixed SQL text whose expressions are those of the
 * eim_hosts_site_category index (migration 0012), so the count reads that index alone; `kind =
 * 'Host'` is a literal for the same reason (the index is partial). The project is a parameter.
 */
const HOSTS_BY_SITE_SQL: Record<'sqlite' | 'postgres', string> = {
  sqlite: `select json_extract(spec, '$.siteId') as site, host_category as category, count(*) as n from eim_resources
    where kind = 'Host' and project = ? group by 1, 2`,
  postgres: `select (spec->>'siteId') as site, host_category as category, count(*) as n from eim_resources
    where kind = 'Host' and project = $1 group by 1, 2`,
};

/**
 * A project's hosts per (site id or null, stored category or null), one row per combination.
 * @example await hostsBySite(db, 'sqlite', 'default') // [{ site: 'site-0a1b2c3d', category: 'running', count: 12 }, …]
 */
export async function hostsBySite(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', project: string): Promise<{ site: string | null; category: string | null; count: number }[]> {
  const { rows } = await db.executeQuery<{ site: string | null; category: string | null; n: unknown }>(CompiledQuery.raw(HOSTS_BY_SITE_SQL[dialect], [project]));
  return rows.map((r) => ({ site: r.site, category: r.category, count: Number(r.n) }));
}
