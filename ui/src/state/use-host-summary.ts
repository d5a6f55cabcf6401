import { useEffect, useState } from 'preact/hooks';
import type { HostSummary } from '../../../src/api/host-summary.ts';
import { useFleet } from '../fleet.ts';
import { useStoreVersion } from '../hooks.ts';

/**
 * The server's fleet summary (`hosts:summary`), fetched again at most once a second while the
 * fleet changes; undefined until the first answer (or when the server cannot give one). Counting
 * is the server's: a view showing counts never walks every host.
 * @example const bySite = useHostSummary('site'); bySite?.groups?.find((g) => g.key === siteId)?.total
 */
export function useHostSummary(groupBy?: string): HostSummary | undefined {
  const { api, project, store } = useFleet();
  const version = useStoreVersion(store, 1000);
  const [summary, setSummary] = useState<HostSummary>();
  useEffect(() => {
    const ac = new AbortController();
    api.summarizeHosts(project, groupBy, ac.signal).then(setSummary, () => undefined);
    return () => ac.abort();
  }, [api, project, groupBy, version]);
  return summary;
}
