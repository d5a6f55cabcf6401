import { useState } from 'preact/hooks';
import type { Resource } from '../api/resource.ts';
import { useFleet } from '../fleet.ts';
import { age } from '../format.ts';
import { useNow, useStoreVersion } from '../hooks.ts';

const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };
const STATE_ORDER: Record<string, number> = { firing: 0, pending: 1, resolved: 2 };

/** Alerts of the project, firing first, most severe first. */
export function sortedAlerts(alerts: Iterable<Resource>): Resource[] {
  return [...alerts].sort(
    (a, b) =>
      (STATE_ORDER[a.status?.state] ?? 3) - (STATE_ORDER[b.status?.state] ?? 3) ||
      (SEVERITY_ORDER[a.status?.severity] ?? 3) - (SEVERITY_ORDER[b.status?.severity] ?? 3) ||
      String(a.status?.activeSince).localeCompare(String(b.status?.activeSince)),
  );
}

/** The header's count: firing alerts not silenced, critical ones in red. */
export function FiringCount() {
  const { store } = useFleet();
  useStoreVersion(store, 500);
  const firing = [...store.all('Alert').values()].filter((a) => a.status?.state === 'firing' && !(a.status?.silencedBy?.length > 0));
  const critical = firing.filter((a) => a.status?.severity === 'critical').length;
  return (
    <a href="#/alerts" class={`badge ${critical > 0 ? 'cat-error' : firing.length > 0 ? 'cat-no-connection' : ''}`} data-testid="firing-count" aria-label={`${firing.length} firing alerts, ${critical} critical`}>
      {firing.length} firing{critical > 0 ? ` (${critical} critical)` : ''}
    </a>
  );
}

/** A table of alerts (the Alerts view and a host's page). */
export function AlertTable({ alerts, onSilence }: { alerts: Resource[]; onSilence?: (a: Resource) => void }) {
  const now = useNow(10_000);
  if (alerts.length === 0) return <p class="muted">No alerts.</p>;
  return (
    <table class="grid" data-testid="alerts">
      <caption class="sr-only">Alerts</caption>
      <thead>
        <tr>
          <th scope="col">State</th>
          <th scope="col">Severity</th>
          <th scope="col">Resource</th>
          <th scope="col">Site</th>
          <th scope="col">Since</th>
          <th scope="col">Summary</th>
          {onSilence && <th scope="col">Silence</th>}
        </tr>
      </thead>
      <tbody>
        {alerts.map((a) => {
          const s = a.status ?? {};
          const silenced = s.silencedBy?.length > 0;
          const hostId = s.labels?.hostId;
          return (
            <tr key={a.id} data-alert={s.labels?.resource} data-state={s.state}>
              <td>
                <span class={`badge ${s.state === 'firing' ? (silenced ? '' : 'cat-error') : s.state === 'pending' ? 'cat-no-connection' : 'cat-running'}`}>{s.state}{silenced ? ' (silenced)' : ''}</span>
              </td>
              <td class={s.severity === 'critical' ? 'error' : ''}>{s.severity}</td>
              <td>{hostId ? <a href={`#/hosts/${hostId}`}>{s.resourceName}</a> : s.resourceName}</td>
              <td>{s.labels?.site ?? '—'}</td>
              <td>{s.activeSince ? age(s.activeSince, now) : '—'}</td>
              <td>{s.annotations?.summary}</td>
              {onSilence && (
                <td>
                  {s.state !== 'resolved' && !silenced && (
                    <button type="button" class="secondary" onClick={() => onSilence(a)} aria-label={`Silence ${s.resourceName} for 2 hours`}>
                      Silence 2 h
                    </button>
                  )}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The Alerts view: filter by severity, state and site; silence one from here. */
export function AlertsView() {
  const { store, api, project } = useFleet();
  useStoreVersion(store, 500);
  const [severity, setSeverity] = useState('');
  const [state, setState] = useState('firing');
  const [site, setSite] = useState('');
  const [result, setResult] = useState<string>();
  const all = sortedAlerts(store.all('Alert').values());
  const sites = [...new Set(all.map((a) => a.status?.labels?.site).filter(Boolean))].sort();
  const shown = all.filter((a) => (!severity || a.status?.severity === severity) && (!state || a.status?.state === state) && (!site || a.status?.labels?.site === site));
  const silence = async (a: Resource) => {
    const now = Date.now();
    try {
      await api.request('POST', `/v1/projects/${encodeURIComponent(project)}/silences`, {
        name: `silence-${a.status.labels?.resource ?? a.id}-${now.toString(36)}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 120),
        spec: { filter: `labels.rule = ${a.status.ruleId} AND labels.resourceId = ${a.status.resourceId}`, startsAt: new Date(now).toISOString(), endsAt: new Date(now + 2 * 3600_000).toISOString(), comment: 'silenced from the console' },
      });
      setResult(`Silenced ${a.status.resourceName} for 2 hours.`);
    } catch (e) {
      setResult(`Could not silence: ${(e as Error).message}`);
    }
  };
  const select = (id: string, label: string, value: string, set: (v: string) => void, options: string[]) => (
    <span class="inline">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
        <option value="">all</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </span>
  );
  return (
    <>
      <h1>Alerts</h1>
      <p>
        {select('alert-state', 'State', state, setState, ['firing', 'pending', 'resolved'])} {select('alert-severity', 'Severity', severity, setSeverity, ['critical', 'warning', 'info'])}{' '}
        {select('alert-site', 'Site', site, setSite, sites as string[])}
      </p>
      {result && <p role="status">{result}</p>}
      <AlertTable alerts={shown} onSilence={silence} />
      <Receivers />
    </>
  );
}

/** Where a receiver sends: a webhook's host and path (never its credentials), or an email's recipients. */
export function receiverTarget(spec: Record<string, any>): string {
  if (spec?.webhook?.url) {
    try {
      const u = new URL(spec.webhook.url);
      return `webhook ${u.host}${u.pathname === '/' ? '' : u.pathname}`;
    } catch {
      return 'webhook';
    }
  }
  if (spec?.email) return `email to ${(spec.email.to ?? []).join(', ')}`;
  return '—';
}

/** The project's alert receivers, each with a button that sends one test notification now and says what it answered. */
function Receivers() {
  const { store, api, project } = useFleet();
  const [answers, setAnswers] = useState<Record<string, { ok: boolean; text: string }>>({});
  const receivers = [...store.all('AlertReceiver').values()].sort((a, b) => a.name.localeCompare(b.name));
  const test = async (r: Resource) => {
    setAnswers((a) => ({ ...a, [r.id]: { ok: true, text: 'sending…' } }));
    try {
      const res = await api.request<{ ok: boolean; detail: string }>('POST', `/v1/projects/${encodeURIComponent(project)}/alert-receivers/${r.id}:test`);
      setAnswers((a) => ({ ...a, [r.id]: { ok: res.ok, text: `${res.ok ? 'Delivered' : 'Not delivered'}: ${res.detail}` } }));
    } catch (e) {
      setAnswers((a) => ({ ...a, [r.id]: { ok: false, text: `Could not test: ${(e as Error).message}` } }));
    }
  };
  return (
    <section aria-labelledby="receivers-title">
      <h2 id="receivers-title">Receivers</h2>
      {receivers.length === 0 ? (
        <p class="muted">No receivers: alerts show here and in the CLI, and nothing is sent.</p>
      ) : (
        <table class="grid" data-testid="receivers">
          <caption class="sr-only">Alert receivers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Sends to</th>
              <th scope="col">Grouping</th>
              <th scope="col">Test</th>
            </tr>
          </thead>
          <tbody>
            {receivers.map((r) => (
              <tr key={r.id} data-receiver={r.name}>
                <td>{r.name}</td>
                <td>{receiverTarget(r.spec)}</td>
                <td>
                  wait {r.spec.groupWaitSeconds ?? 30} s, every {r.spec.groupIntervalSeconds ?? 300} s
                </td>
                <td>
                  <button type="button" class="secondary" onClick={() => void test(r)} aria-label={`Send a test notification to ${r.name}`}>
                    Send test
                  </button>{' '}
                  {answers[r.id] && (
                    <span role="status" class={answers[r.id].ok ? '' : 'error'}>
                      {answers[r.id].text}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
