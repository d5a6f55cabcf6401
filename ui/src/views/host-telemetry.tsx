import { useEffect, useState } from 'preact/hooks';
import type { ApiClient } from '../api/api-client.ts';
import { useFleet } from '../fleet.ts';
import { rateText, type SeriesPoints, sparklinePoints, sumSeries } from '../state/sparkline.ts';

// Collected telemetry on the console. Samples are not resources: they never travel on the watch
// stream (that would put every sample of every host through the event log and every console). So
// these panels poll their routes while they are on screen, and only then: the metrics every 15 s
// (the hour) or 5 minutes (the day), the log tail every 5 s. A poll is one indexed range read,
// served the same by any server, which a stream fanned out across servers would not be.

/** Polls `load` every `everyMs` while mounted (and when `key` changes); the latest answer or error. */
function usePoll<T>(load: (api: ApiClient, signal: AbortSignal) => Promise<T>, everyMs: number, key: string): { data?: T; error?: string } {
  const { api } = useFleet();
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = () => {
      load(api, abort.signal).then(
        (data) => setState({ data }),
        (e: Error) => !abort.signal.aborted && setState((s) => ({ ...s, error: e.message })),
      );
      timer = setTimeout(tick, everyMs);
    };
    setState({});
    tick();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [key, everyMs]);
  return state;
}

interface MetricsAnswer {
  from: string;
  to: string;
  series: SeriesPoints[];
}

const CHARTS: { title: string; names: string[]; percent: boolean }[] = [
  { title: 'CPU', names: ['cpu_used_percent'], percent: true },
  { title: 'Memory', names: ['memory_used_percent'], percent: true },
  { title: 'Disk (fullest)', names: ['disk_used_percent'], percent: true },
  { title: 'Network', names: ['system.network.io'], percent: false },
];

/** Sparklines of CPU, memory, disk and network over the last hour or day, polled while shown. */
export function HostMetrics({ hostId }: { hostId: string }) {
  const { project } = useFleet();
  const [range, setRange] = useState<'1h' | '24h'>('1h');
  const names = CHARTS.flatMap((c) => c.names).join(',');
  const { data, error } = usePoll(
    (api, signal) => api.request<MetricsAnswer>('GET', `/v1/projects/${encodeURIComponent(project)}/hosts/${hostId}/metrics?names=${names}&from=${range}&step=${range === '1h' ? 30 : 600}`, undefined, signal),
    range === '1h' ? 15_000 : 300_000,
    `${hostId}/${range}`,
  );
  const from = data ? Date.parse(data.from) : 0;
  const to = data ? Date.parse(data.to) : 0;
  return (
    <section aria-labelledby="metrics-title" data-testid="host-metrics">
      <h2 id="metrics-title">
        Metrics{' '}
        <select aria-label="Range" value={range} onChange={(e) => setRange((e.target as HTMLSelectElement).value as '1h' | '24h')}>
          <option value="1h">last hour</option>
          <option value="24h">last day</option>
        </select>
      </h2>
      {error && <p class="error">{error}</p>}
      {data && data.series.length === 0 && <p class="muted">No samples in this range (is a telemetry profile with metrics applied to this host?).</p>}
      {data && data.series.length > 0 && (
        <div class="sparks">
          {CHARTS.map((c) => {
            const points = sumSeries(data.series.filter((s) => c.names.includes(s.name)));
            const last = points.at(-1)?.value;
            return (
              <figure key={c.title} class="spark" data-testid={`spark-${c.title.split(' ')[0].toLowerCase()}`}>
                <figcaption>
                  {c.title} <strong>{last === undefined ? '—' : c.percent ? `${last.toFixed(1)} %` : rateText(last)}</strong>
                </figcaption>
                <svg viewBox="0 0 200 40" preserveAspectRatio="none" role="img" aria-label={`${c.title} over the last ${range === '1h' ? 'hour' : 'day'}`}>
                  <polyline fill="none" stroke="currentColor" stroke-width="1.5" points={sparklinePoints(points, from, to, 200, 40, c.percent ? 100 : undefined)} />
                </svg>
              </figure>
            );
          })}
        </div>
      )}
    </section>
  );
}

interface LogLine {
  id: string;
  t: string;
  level: string;
  body: string;
  attributes?: Record<string, string>;
}

/** The newest log lines of the host, at a chosen level and above, polled every 5 s while shown. */
export function HostLogTail({ hostId }: { hostId: string }) {
  const { project } = useFleet();
  const [level, setLevel] = useState('info');
  const { data, error } = usePoll(
    (api, signal) => api.request<{ items: LogLine[] }>('GET', `/v1/projects/${encodeURIComponent(project)}/hosts/${hostId}/logs?limit=50&level=${level}&since=24h`, undefined, signal),
    5000,
    `${hostId}/${level}`,
  );
  return (
    <section aria-labelledby="logs-title" data-testid="host-logs">
      <h2 id="logs-title">
        Logs{' '}
        <select aria-label="Level" value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value)}>
          {['error', 'warn', 'info', 'debug'].map((l) => (
            <option key={l} value={l}>
              {l} and above
            </option>
          ))}
        </select>
      </h2>
      {error && <p class="error">{error}</p>}
      {data && data.items.length === 0 && <p class="muted">No log lines at this level in the last day.</p>}
      {data && data.items.length > 0 && (
        <pre class="log-tail">
          {[...data.items].reverse().map((l) => (
            <div key={l.id} class={`log-${l.level}`}>
              {l.t.slice(0, 19).replace('T', ' ')} {l.level.toUpperCase().padEnd(5)} {l.attributes?.unit ? `${l.attributes.unit}: ` : ''}
              {l.body}
            </div>
          ))}
        </pre>
      )}
    </section>
  );
}

interface TopAnswer {
  items: { hostId: string; name: string; cpu_used_percent?: number; disk_used_percent?: number }[];
}

/** The overview's busiest (CPU) and fullest (disk) hosts, polled every minute while shown. */
export function BusiestHosts() {
  const { project } = useFleet();
  const top = (sort: string) => (api: ApiClient, signal: AbortSignal) => api.request<TopAnswer>('GET', `/v1/projects/${encodeURIComponent(project)}/hosts:top?sort=${sort}&limit=5`, undefined, signal);
  const busiest = usePoll(top('cpu'), 60_000, `${project}/cpu`);
  const fullest = usePoll(top('disk'), 60_000, `${project}/disk`);
  const list = (title: string, answer: TopAnswer | undefined, field: 'cpu_used_percent' | 'disk_used_percent', testid: string) => (
    <div data-testid={testid}>
      <h3>{title}</h3>
      {!answer || answer.items.length === 0 ? (
        <p class="muted">No samples yet.</p>
      ) : (
        <ol>
          {answer.items.map((h) => (
            <li key={h.hostId}>
              {/* The value inside the link: its name never equals the host table's link to the same host. */}
              <a href={`#/hosts/${h.hostId}`}>
                {h.name} · {h[field] === undefined ? '—' : `${h[field]!.toFixed(1)} %`}
              </a>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
  return (
    <section aria-label="Busiest and fullest hosts" class="columns">
      {list('Busiest (CPU)', busiest.data, 'cpu_used_percent', 'busiest-hosts')}
      {list('Fullest (disk)', fullest.data, 'disk_used_percent', 'fullest-hosts')}
    </section>
  );
}
