import type { ResourceOf } from '../../../src/api/kind-types.ts';
import { Progress } from '../components/status.tsx';
import { useFleet } from '../fleet.ts';
import { plural } from '../format.ts';
import { useStoreVersion } from '../hooks.ts';

/** What the maintenance manager writes to a policy's status.rollout (types only, from src/api). */
type Rollout = NonNullable<ResourceOf<'OsUpdatePolicy'>['status']['rollout']>;

/** OS profiles (and how many instances run each), update policies and their rollouts, live. */
export function UpdatesView() {
  const { store } = useFleet();
  useStoreVersion(store, 250);
  const running = new Map<string, number>();
  const attached = new Map<string, number>();
  for (const i of store.all('Instance').values()) {
    const os = i.status?.currentOsId as string | undefined;
    if (os) running.set(os, (running.get(os) ?? 0) + 1);
    const p = i.spec.osUpdatePolicyId as string | undefined;
    if (p) attached.set(p, (attached.get(p) ?? 0) + 1);
  }
  const oses = [...store.all('OperatingSystem').values()].sort((a, b) => a.name.localeCompare(b.name));
  const policies = [...store.all('OsUpdatePolicy').values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <>
      <h1>OS profiles and updates</h1>
      <h2>OS profiles</h2>
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Profile</th>
            <th scope="col">Type</th>
            <th scope="col">Architecture</th>
            <th scope="col">Instances running it</th>
          </tr>
        </thead>
        <tbody>
          {oses.map((o) => (
            <tr key={o.id}>
              <td class="name">{o.name}</td>
              <td>
                {o.spec.profileName} {o.spec.profileVersion}
              </td>
              <td>{o.spec.osType}</td>
              <td>{o.spec.architecture}</td>
              <td>{running.get(o.id) ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {oses.length === 0 && <p class="muted">No OS profiles.</p>}
      <h2>Update policies</h2>
      <table class="grid" data-testid="policies">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Updates to</th>
            <th scope="col">Limits</th>
            <th scope="col">Rollout</th>
            <th scope="col">Pending / running / failed</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {policies.map((p) => {
            const r = p.status?.rollout as Rollout | undefined;
            // upToDate already includes the instances whose update succeeded in this rollout.
            const done = r ? r.upToDate : 0;
            return (
              <tr key={p.id} data-policy={p.name}>
                <td class="name">{p.name}</td>
                <td class="nowrap">{p.spec.policy === 'target' ? (store.get('OperatingSystem', p.spec.targetOsId)?.name ?? p.spec.targetOsId) : 'latest'}</td>
                <td>
                  {p.spec.rollout.maxConcurrent} at once, {p.spec.rollout.maxFailures <= 1 ? 'stop at the first failure' : `stop after ${plural(p.spec.rollout.maxFailures, 'failure')}`}
                </td>
                <td>
                  {r ? (
                    <Progress value={done} max={r.total} label={`${p.name}: ${done} of ${plural(r.total, 'instance')} updated`} />
                  ) : (
                    <span class="muted">{plural(attached.get(p.id) ?? 0, 'instance')} attached</span>
                  )}
                </td>
                <td class="nowrap">{r ? `${r.pending} / ${r.running} / ${r.failed}` : '—'}</td>
                <td class="status">
                  {r?.halted && <span class="badge ind-error">halted</span>}
                  {r?.halted && ' '}
                  {p.status?.rolloutStatus?.message ?? ''}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {policies.length === 0 && <p class="muted">No update policies.</p>}
    </>
  );
}
