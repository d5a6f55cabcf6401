import { type HostNodeConfig, nodeConfigProblems } from '../../../src/api/node-config.ts';
import { nameIn, useFleet } from '../fleet.ts';
import type { Resource } from '../api/resource.ts';

const LEVEL_KIND = { region: 'Region', site: 'Site', instance: 'Instance' } as const;

/**
 * A host's effective node configuration (status.nodeConfig): the version and whether its agent
 * applied it, one row per account and config with what the agent did (applied, removed, dry run,
 * failed, pending) and where it came from, then conflicts and the failed items' reasons.
 */
export function NodeConfig({ host }: { host: Resource }) {
  const { store } = useFleet();
  const nc = host.status.nodeConfig as HostNodeConfig | undefined;
  const name = nameIn(store);
  if (!nc) {
    return (
      <section aria-labelledby="nc-title">
        <h2 id="nc-title">Node configuration</h2>
        <p class="muted">No local account or custom config applies to this host.</p>
      </section>
    );
  }
  const current = nc.appliedVersion === nc.version;
  const results = new Map((current ? (nc.items ?? []) : []).map((i) => [i.item, i]));
  const source = (item: string) => nc.sources.find((s) => s.item === item);
  const rows = [
    ...nc.accounts.map((a) => ({
      item: `account:${a.username}`, type: 'account', name: a.username,
      what: a.state === 'absent' ? 'absent (removed)' : `${a.sshKeys.length} SSH key${a.sshKeys.length === 1 ? '' : 's'}, sudo ${a.sudo}${a.groups.length ? `, groups ${a.groups.join(', ')}` : ''}`,
    })),
    ...nc.configs.map((c) => ({ item: `config:${c.sourceId}`, type: c.type === 'file' ? 'file' : 'cloud-init', name: c.name, what: c.type === 'file' ? `${c.path} (${c.mode}, ${c.owner})` : `run ${c.runPolicy}` })),
  ];
  const failed = [...results.values()].filter((i) => i.state === 'failed');
  return (
    <section aria-labelledby="nc-title" data-testid="node-config">
      <h2 id="nc-title">Node configuration</h2>
      <p>
        Version {nc.version.slice(0, 12)} ·{' '}
        {current ? <span class="badge ind-idle">applied by the agent</span> : <span class="badge ind-in_progress">not applied yet</span>}
        {nc.applyStatus && (
          <span class={`badge ind-${nc.applyStatus.indicator}`} data-testid="node-config-status">
            {' '}
            {/* An error names the first conflict or failed item, which the list below shows: count them here. */}
            {(nc.applyStatus.indicator === 'error' && nodeConfigProblems(nc.conflicts?.length ?? 0, failed.length)) || nc.applyStatus.message}
          </span>
        )}
      </p>
      {rows.length === 0 ? (
        <p class="muted">Nothing applies any more: the agent removes what eim made.</p>
      ) : (
        <table class="grid">
          <caption class="sr-only">Accounts and configs</caption>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Name</th>
              <th scope="col">What</th>
              <th scope="col">Agent</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody data-testid="node-config-items">
            {rows.map((r) => {
              const res = results.get(r.item);
              const s = source(r.item);
              const state = res?.state ?? (current ? '—' : 'pending');
              const ind = state === 'failed' ? 'error' : state === 'applied' || state === 'removed' ? 'idle' : 'in_progress';
              return (
                <tr key={r.item}>
                  <td>{r.type}</td>
                  <td>{r.name}</td>
                  <td>{r.what}</td>
                  <td>
                    <span class={`badge ind-${ind}`} title={res?.message}>
                      {state}
                    </span>
                  </td>
                  <td title={s?.resourceId}>
                    {s ? `${s.level} ${s.level === 'selector' ? s.targetId : name(LEVEL_KIND[s.level], s.targetId)}${s.via === 'instance' ? ' (named by the instance)' : ''}${s.overrides?.length ? `, overrides ${s.overrides.length}` : ''}` : '—'}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {(nc.conflicts?.length ?? 0) > 0 || failed.length > 0 ? (
        <ul data-testid="node-config-errors">
          {(nc.conflicts ?? []).map((c) => (
            <li key={`c-${c.item}-${c.ignoredId}`} class="ind-error">
              conflict: {c.message}
            </li>
          ))}
          {failed.map((i) => (
            <li key={i.item} class="ind-error">
              {i.item} failed{i.recoverable ? ' (retried by the agent)' : ''}: {i.message}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
