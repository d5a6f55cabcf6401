import { templateProblem } from './alert-template.ts';
import { parseFilter } from './filter.ts';
import { kindByName, kindByPath } from './registry.ts';

/** A metric condition: `disk_used_percent > 90`. */
export interface MetricCondition {
  name: string;
  cmp: '>' | '>=' | '<' | '<=' | '=' | '!=';
  threshold: number;
}

const METRIC = /^\s*([a-z_][a-z0-9_.]{0,127})\s*(>=|<=|!=|>|<|=)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$/;

/**
 * Parses a rule's metric condition; throws an Error saying what is wrong.
 * @example parseMetricCondition('disk_used_percent > 90') // { name: 'disk_used_percent', cmp: '>', threshold: 90 }
 */
export function parseMetricCondition(text: string): MetricCondition {
  const m = METRIC.exec(text);
  if (!m) throw new Error(`"${text.slice(0, 80)}" is not a metric condition: write NAME OP NUMBER, e.g. disk_used_percent > 90 (OP one of > >= < <= = !=)`);
  return { name: m[1], cmp: m[2] as MetricCondition['cmp'], threshold: Number(m[3]) };
}

/** Whether a value meets a metric condition. */
export function meetsMetric(c: MetricCondition, value: number): boolean {
  switch (c.cmp) {
    case '>': return value > c.threshold;
    case '>=': return value >= c.threshold;
    case '<': return value < c.threshold;
    case '<=': return value <= c.threshold;
    case '=': return value === c.threshold;
    case '!=': return value !== c.threshold;
  }
}

/** Kinds a rule may not watch: alerts (a rule about alerts would feed itself) and commands (internal). */
const UNWATCHABLE = new Set(['Alert', 'Command']);

const filterProblem = (text: string | undefined, kind: string, field: string): string | undefined => {
  if (!text) return undefined;
  try {
    parseFilter(text, kindByName(kind));
    return undefined;
  } catch (e) {
    return `${field}: ${(e as Error).message}`;
  }
};

/** What is wrong with an AlertRule spec beyond its schema, or undefined. */
export function alertRuleProblem(s: Record<string, unknown>): string | undefined {
  const def = kindByPath(String(s.kind));
  if (!def || UNWATCHABLE.has(def.kind)) return `spec.kind: "${String(s.kind).slice(0, 64)}" is not a kind a rule can watch; use a REST path such as hosts, instances, os-update-runs, os-update-policies`;
  if (!s.filter && !s.metric) return 'spec.filter: a rule needs a condition: a filter, a metric condition, or both';
  const problem = filterProblem(s.filter as string | undefined, def.kind, 'spec.filter');
  if (problem) return problem;
  if (s.metric !== undefined) {
    if (def.kind !== 'Host') return 'spec.metric: metric conditions are about hosts: set spec.kind to hosts';
    try {
      parseMetricCondition(s.metric as string);
    } catch (e) {
      return `spec.metric: ${(e as Error).message}`;
    }
  }
  const t = s.target as Record<string, unknown> | undefined;
  if (t !== undefined) {
    const set = ['regionId', 'siteId', 'hostId', 'selector'].filter((k) => t[k] !== undefined);
    if (set.length !== 1) return `spec.target must set exactly one of regionId, siteId, hostId, selector (it sets ${set.length === 0 ? 'none' : set.join(', ')})`;
    const sel = filterProblem(t.selector as string | undefined, 'Host', 'spec.target.selector');
    if (sel) return sel;
  }
  return templateProblem(s.summary as string | undefined, 'spec.summary') ?? templateProblem(s.description as string | undefined, 'spec.description');
}

/** What is wrong with an AlertReceiver spec beyond its schema (never echoing a secret), or undefined. */
export function alertReceiverProblem(s: Record<string, unknown>): string | undefined {
  const set = ['webhook', 'email'].filter((k) => s[k] !== undefined);
  if (set.length !== 1) return `spec must set exactly one of webhook, email (it sets ${set.length === 0 ? 'none' : set.join(', ')})`;
  const webhook = s.webhook as { url: string } | undefined;
  if (webhook) {
    let url: URL | undefined;
    try {
      url = new URL(webhook.url);
    } catch {
      return 'spec.webhook.url is not a URL: give an absolute http:// or https:// URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `spec.webhook.url must be http:// or https:// (it is ${url.protocol.slice(0, 20)})`;
    if (url.username || url.password) return 'spec.webhook.url may not hold a user or password: put credentials in spec.webhook.headers (write-only)';
    if (url.port !== '' && FETCH_BAD_PORTS.has(Number(url.port))) return `spec.webhook.url: port ${url.port} is one HTTP clients refuse to use (the Fetch standard's bad ports: mail, ssh, DNS, …); use another port`;
  }
  const email = s.email as { to: string[]; from: string } | undefined;
  if (email) {
    if (email.to.length === 0) return 'spec.email.to must name at least one recipient';
    const bad = [email.from, ...email.to].find((a) => !/^[^\s@<>,;"]+@[^\s@<>,;"]+$/.test(a));
    if (bad !== undefined) return `spec.email: "${bad.slice(0, 80)}" is not an email address (name@domain)`;
  }
  return undefined;
}

/** What is wrong with a Silence spec beyond its schema, or undefined. */
export function silenceProblem(s: Record<string, unknown>): string | undefined {
  const problem = filterProblem(s.filter as string, 'Alert', 'spec.filter');
  if (problem) return problem;
  if (s.startsAt !== undefined && Date.parse(s.endsAt as string) <= Date.parse(s.startsAt as string)) return 'spec.endsAt must be after spec.startsAt';
  return undefined;
}

/** One of the rules every new project starts with. */
export interface DefaultAlertRule {
  name: string;
  spec: Record<string, unknown>;
}

const hostTriples = ['hostStatus', 'onboardingStatus', 'registrationStatus', 'powerStatus'];

/**
 * The rules every new project starts with (editable and deletable like any other): with no
 * receiver they still make Alerts, which the console and `eim get alerts` show.
 */
export const DEFAULT_ALERT_RULES: readonly DefaultAlertRule[] = [
  {
    name: 'host-connection-lost',
    spec: {
      kind: 'hosts', filter: 'status.hostStatus.message = "no connection"', forSeconds: 120, severity: 'critical',
      summary: 'Host {{name}} lost its connection', description: 'Host {{name}} (site {{site.name}}) has sent no heartbeat since {{status.hostStatus.timestamp}}.',
    },
  },
  {
    name: 'host-error',
    spec: {
      kind: 'hosts', filter: `(${hostTriples.map((t) => `status.${t}.indicator = error`).join(' OR ')}) AND NOT status.hostStatus.message = "no connection"`,
      forSeconds: 300, severity: 'warning',
      summary: 'Host {{name}} is in error', description: 'Host {{name}} (site {{site.name}}): {{status.hostStatus.message}} {{status.onboardingStatus.message}} {{status.registrationStatus.message}} {{status.powerStatus.message}}',
    },
  },
  {
    name: 'instance-provisioning-failed',
    spec: {
      kind: 'instances', filter: 'status.provisioningStatus.indicator = error', forSeconds: 0, severity: 'critical',
      summary: 'Provisioning of {{name}} on {{host.name}} failed', description: '{{status.provisioningStatus.message}}',
    },
  },
  {
    name: 'os-update-failed',
    spec: {
      kind: 'os-update-runs', filter: 'status.runStatus.indicator = error', forSeconds: 0, severity: 'warning',
      summary: 'OS update {{name}} on {{host.name}} failed', description: '{{status.runStatus.message}}',
    },
  },
  {
    name: 'os-update-rollout-halted',
    spec: {
      kind: 'os-update-policies', filter: 'status.rollout.halted = true', forSeconds: 0, severity: 'critical',
      summary: 'The rollout of OS update policy {{name}} halted', description: '{{status.rollout.failed}} update(s) failed: {{status.rolloutStatus.message}}',
    },
  },
  {
    name: 'host-not-seen',
    spec: {
      kind: 'hosts', filter: 'status.registrationStatus.message = "agent enrolled*" AND NOT status.hostStatus:*', forSeconds: 600, severity: 'warning',
      summary: 'Host {{name}} has not been seen since it enrolled', description: "Host {{name}}'s agent enrolled but never reported (site {{site.name}}).",
    },
  },
];

/**
 * Ports the Fetch standard blocks (https://fetch.spec.whatwg.org/#port-blocking), which Node's
 * fetch refuses with "bad port": a webhook on one would fail for good at every delivery.
 */
const FETCH_BAD_PORTS = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137,
  139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);
