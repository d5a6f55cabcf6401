import { useEffect, useState } from 'preact/hooks';
import type { Resource } from '../api/resource.ts';
import { Triples } from '../components/status.tsx';
import { nameIn, useFleet } from '../fleet.ts';
import { explainOs } from '../state/os-explanation.ts';

/** The host's instance: its OS (desired and current), status triples, and the update policy, which can be changed here. */
export function InstanceSection({ host, now }: { host: Resource; now: number }) {
  const { api, project, store } = useFleet();
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const inst = [...store.all('Instance').values()].find((i) => i.spec.hostId === host.id);
  const osName = (id?: string) => nameIn(store)('OperatingSystem', id);
  const runs = useUpdateRuns(inst?.id, inst?.status?.currentOsId);
  const policies = [...store.all('OsUpdatePolicy').values()].sort((a, b) => a.name.localeCompare(b.name));
  if (!inst) {
    return (
      <section aria-labelledby="inst-title">
        <h2 id="inst-title">Instance</h2>
        <p class="muted">No instance: the host has no OS assigned{host.spec.autoProvision ? ' yet (it is provisioned automatically once onboarded)' : ''}.</p>
      </section>
    );
  }
  const s = inst.status ?? {};
  const os = explainOs(inst, runs, nameIn(store));
  const setPolicy = async (value: string) => {
    setResult(undefined);
    try {
      await api.patch(project, 'instances', inst.id, { spec: { osUpdatePolicyId: value === '' ? null : value } });
      setResult({ ok: true, text: 'Update policy changed.' });
    } catch (e) {
      setResult({ ok: false, text: `Changing the update policy was refused: ${(e as Error).message}` });
    }
  };
  return (
    <section aria-labelledby="inst-title">
      <h2 id="inst-title">
        Instance {inst.name} <span class="muted small">{inst.id}</span>
      </h2>
      <div class="columns">
        <table class="grid">
          <caption>Desired and current</caption>
          <tbody>
            <tr class={inst.spec.desiredState !== s.currentState ? 'differs' : ''}>
              <th scope="row">State</th>
              <td>{inst.spec.desiredState}</td>
              <td>{s.currentState ?? 'unspecified'}</td>
            </tr>
            <tr class={os.differs ? 'differs' : ''} data-testid="instance-os">
              <th scope="row">OS</th>
              <td>{osName(inst.spec.osId)}</td>
              <td>
                {osName(s.currentOsId)}
                {os.note && (
                  <span class="muted small note" data-testid="os-note">
                    {' '}
                    · {os.note}
                  </span>
                )}
              </td>
            </tr>
            <tr>
              <th scope="row">Generation</th>
              <td>{inst.generation}</td>
              <td>observed {s.observedGeneration ?? '—'}</td>
            </tr>
          </tbody>
        </table>
        <Triples
          caption="Instance status"
          now={now}
          triples={[
            ['Instance', s.instanceStatus],
            ['Provisioning', s.provisioningStatus],
            ['Update', s.updateStatus],
          ]}
        />
      </div>
      <p class="row">
        <label for="policy">Update policy</label>
        <select id="policy" value={inst.spec.osUpdatePolicyId ?? ''} onChange={(e) => void setPolicy((e.target as HTMLSelectElement).value)}>
          <option value="">none</option>
          {policies.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </p>
      {result && (
        <p class={result.ok ? 'ok' : 'error'} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </p>
      )}
    </section>
  );
}

/**
 * The OS update runs of an instance (a few per update), read when its current OS changes: they say
 * which policy moved it there. The console does not hold runs for the whole fleet.
 */
function useUpdateRuns(instanceId: string | undefined, currentOsId: string | undefined): Resource[] {
  const { api, project } = useFleet();
  const [runs, setRuns] = useState<Resource[]>([]);
  useEffect(() => {
    setRuns([]);
    if (!instanceId || !currentOsId) return;
    const abort = new AbortController();
    api.listAll(project, 'os-update-runs', `status.instanceId = ${JSON.stringify(instanceId)}`, abort.signal).then(
      (page) => setRuns(page.items),
      () => undefined, // the note falls back to the attached policy
    );
    return () => abort.abort();
  }, [api, project, instanceId, currentOsId]);
  return runs;
}
