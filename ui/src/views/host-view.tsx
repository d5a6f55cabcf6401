import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Resource } from '../api/resource.ts';
import { CategoryBadge, Triples } from '../components/status.tsx';
import { nameIn, useFleet } from '../fleet.ts';
import { age, when } from '../format.ts';
import { useNow, useStoreVersion } from '../hooks.ts';
import { hostCategory } from '../state/host-category.ts';
import { locationHref } from '../state/location-filter.ts';
import { regionChain } from '../state/region-chain.ts';
import { type TelemetrySource, telemetryRows } from '../state/telemetry-rows.ts';
import { DevicesSection } from './host-devices.tsx';
import { HostActions } from './host-actions.tsx';
import { HostHistory } from './host-history.tsx';
import { AlertTable, sortedAlerts } from './alerts-view.tsx';
import { NodeConfig } from './host-node-config.tsx';
import { HostLogTail, HostMetrics } from './host-telemetry.tsx';
import { InstanceSection } from './host-instance.tsx';

/** One host: desired next to current, its status, hardware, instance, windows, telemetry and history. */
export function HostView({ id }: { id: string }) {
  const { store, sync } = useFleet();
  useStoreVersion(store);
  const now = useNow(5000);
  const host = store.get('Host', id);
  if (!host) {
    return (
      <>
        <p>
          <a href="#/">← Overview</a>
        </p>
        <p role="status">{sync.status.lists === 0 ? 'Loading…' : `Host ${id} does not exist in this project (it may have been deleted).`}</p>
      </>
    );
  }
  const s = host.status ?? {};
  const site = host.spec.siteId ? store.get('Site', host.spec.siteId) : undefined;
  const reconciling = s.observedGeneration === undefined || s.observedGeneration < host.generation;
  return (
    <article aria-labelledby="host-title" data-testid="host-page">
      <p>
        <a href="#/">← Overview</a>
      </p>
      <h1 id="host-title">
        {host.name} <CategoryBadge category={hostCategory(host)} />
      </h1>
      <p class="muted">
        {host.id} · site {site ? <a href={locationHref({ site: site.id })}>{site.name}</a> : 'unallocated'} · last seen {age(s.lastSeenAt, now)}
        {Object.entries(host.labels ?? {}).map(([k, v]) => (
          <span key={k} class="chip">
            {k}={v}
          </span>
        ))}
      </p>
      {/* Keyed: what one host's actions answered must not show on another's page. */}
      <HostActions key={host.id} host={host} />
      <div class="columns">
        <table class="grid" data-testid="desired-current">
          <caption>Desired and current</caption>
          <thead>
            <tr>
              <th scope="col" />
              <th scope="col">Desired (spec)</th>
              <th scope="col">Current (status)</th>
            </tr>
          </thead>
          <tbody>
            <tr class={host.spec.desiredState !== s.currentState ? 'differs' : ''}>
              <th scope="row">State</th>
              <td data-testid="desired-state">{host.spec.desiredState}</td>
              <td data-testid="current-state">{s.currentState ?? 'unspecified'}</td>
            </tr>
            <tr class={host.spec.desiredPowerState && host.spec.desiredPowerState !== s.currentPowerState ? 'differs' : ''}>
              <th scope="row">Power</th>
              <td data-testid="desired-power">{host.spec.desiredPowerState ?? '—'}</td>
              <td data-testid="current-power">{s.currentPowerState ?? 'unspecified'}</td>
            </tr>
            <tr class={reconciling ? 'differs' : ''}>
              <th scope="row">Generation</th>
              <td>generation {host.generation}</td>
              <td>
                observed {s.observedGeneration ?? '—'} {reconciling ? <span class="badge ind-in_progress">reconciling</span> : <span class="badge ind-idle">in sync</span>}
              </td>
            </tr>
          </tbody>
        </table>
        <Triples
          caption="Status"
          now={now}
          triples={[
            ['Host', s.hostStatus],
            ['Onboarding', s.onboardingStatus],
            ['Registration', s.registrationStatus],
            ['Power', s.powerStatus, s.currentPowerState ? `${s.currentPowerState}, as the agent reports (no power command sent yet)` : undefined],
          ]}
        />
      </div>
      <HostAlerts hostId={host.id} />
      <HostMetrics key={`m-${host.id}`} hostId={host.id} />
      <HostLogTail key={`l-${host.id}`} hostId={host.id} />
      <Hardware host={host} />
      <DevicesSection hostId={host.id} />
      <InstanceSection key={host.id} host={host} now={now} />
      <div class="columns">
        <Maintenance host={host} />
        <Telemetry host={host} />
      </div>
      <NodeConfig host={host} />
      <HostHistory hostId={host.id} />
    </article>
  );
}

const HW_FIELDS: [string, string][] = [
  ['hostname', 'Hostname'],
  ['systemVendor', 'Vendor'],
  ['productName', 'Product'],
  ['serialNumber', 'Serial number'],
  ['uuid', 'UUID'],
  ['cpuModel', 'CPU'],
  ['cpuArchitecture', 'Architecture'],
  ['cpuCores', 'Cores'],
  ['cpuThreads', 'Threads'],
  ['memoryBytes', 'Memory'],
  ['biosVersion', 'BIOS'],
  ['osName', 'OS'],
  ['kernelVersion', 'Kernel'],
];

function Hardware({ host }: { host: Resource }) {
  const hw = host.status.hardware as Record<string, unknown> | undefined;
  return (
    <section aria-labelledby="hw-title">
      <h2 id="hw-title">Hardware</h2>
      {!hw ? (
        <p class="muted">Not reported yet (the agent reports it after it enrols).</p>
      ) : (
        <dl class="facts">
          {HW_FIELDS.filter(([k]) => hw[k] !== undefined).map(([k, label]) => (
            <div key={k}>
              <dt>{label}</dt>
              <dd>{k === 'memoryBytes' ? `${Math.round(Number(hw[k]) / 2 ** 30)} GiB` : k === 'osName' ? `${hw.osName} ${hw.osVersion ?? ''}` : String(hw[k])}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

function Maintenance({ host }: { host: Resource }) {
  const { store } = useFleet();
  const m = host.status.maintenance as { inWindow: boolean; purposes: string[]; scheduleIds: string[]; windowEndsAt?: string; nextWindowAt?: string } | undefined;
  const targets = new Set([host.id, host.spec.siteId, ...regionChain(store, host.spec.siteId)].filter(Boolean));
  const schedules = useMemo(() => [...store.all('Schedule').values()].filter((s) => targets.has(s.spec.target?.hostId ?? s.spec.target?.siteId ?? s.spec.target?.regionId)), [store.version]);
  return (
    <section aria-labelledby="mw-title">
      <h2 id="mw-title">Maintenance windows</h2>
      {m ? (
        <p>
          {m.inWindow ? <span class="badge cat-maintenance">in a window now ({m.purposes.join(', ')})</span> : <span class="badge">no window open</span>}{' '}
          {m.inWindow && m.windowEndsAt && <>until {when(m.windowEndsAt)}. </>}
          {m.nextWindowAt && <>Next window: {when(m.nextWindowAt)}.</>}
        </p>
      ) : (
        <p class="muted">The maintenance manager has not reported on this host.</p>
      )}
      {schedules.length > 0 && (
        <ul>
          {schedules.map((s) => (
            <li key={s.id}>
              <a href="#/schedules">{s.name}</a> ({s.spec.purpose}, on the {s.spec.target.hostId ? 'host' : s.spec.target.siteId ? 'site' : 'region'}){s.status?.open ? ' · open now' : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Telemetry({ host }: { host: Resource }) {
  const { store } = useFleet();
  const t = host.status.telemetry as { version: string; config: Record<string, unknown>; sources: TelemetrySource[]; appliedVersion?: string } | undefined;
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [host.id]);
  return (
    <section aria-labelledby="tm-title">
      <h2 id="tm-title">Effective telemetry</h2>
      {!t ? (
        <p class="muted">No telemetry config computed for this host.</p>
      ) : (
        <>
          <p>
            Version {t.version.slice(0, 12)} ·{' '}
            {t.appliedVersion === t.version ? <span class="badge ind-idle">applied by the agent</span> : <span class="badge ind-in_progress">not applied yet</span>}
          </p>
          <table class="grid">
            <caption class="sr-only">Telemetry sources</caption>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Profile</th>
                <th scope="col">From</th>
                <th scope="col">Supplies</th>
              </tr>
            </thead>
            <tbody data-testid="telemetry-sources">
              {telemetryRows(t.sources, nameIn(store)).map((r) => (
                <tr key={r.key}>
                  <td title={r.groupId}>{r.group}</td>
                  <td title={r.profileId}>{r.profile}</td>
                  <td title={r.targetId}>{r.from}</td>
                  <td>{r.supplies}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" class="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide' : 'Show'} config
          </button>
          {open && <pre>{JSON.stringify(t.config, null, 2)}</pre>}
        </>
      )}
    </section>
  );
}

/** The alerts about this host (and what runs on it), live from the watch stream; resolved ones are left out. */
function HostAlerts({ hostId }: { hostId: string }) {
  const { store } = useFleet();
  const alerts = sortedAlerts([...store.all('Alert').values()].filter((a) => a.status?.labels?.hostId === hostId && a.status?.state !== 'resolved'));
  return (
    <section aria-labelledby="al-title" data-testid="host-alerts">
      <h2 id="al-title">Alerts</h2>
      <AlertTable alerts={alerts} />
    </section>
  );
}
