import { createHash } from 'node:crypto';
import { evaluateFilter, type FilterNode, parseFilter } from '../../api/filter.ts';
import { kindByName, kindByPath, type MetricCondition, meetsMetric, parseMetricCondition, renderTemplate, type Resource } from '../../api/index.ts';
import type { AlertRule } from './alert-types.ts';
import type { Place } from './alert-topology.ts';

/** A rule with its texts parsed once (per generation). */
export interface CompiledRule {
  rule: AlertRule;
  kind: string;
  filter?: FilterNode;
  selector?: FilterNode;
  metric?: MetricCondition;
}

/**
 * Parses a rule's filter, selector and metric; undefined when the rule is unusable (stored before
 * a check existed): the manager then treats it as matching nothing.
 */
export function compileRule(rule: AlertRule): CompiledRule | undefined {
  const def = kindByPath(rule.spec.kind);
  if (!def) return undefined;
  try {
    return {
      rule,
      kind: def.kind,
      filter: rule.spec.filter ? parseFilter(rule.spec.filter, def) : undefined,
      selector: rule.spec.target?.selector ? parseFilter(rule.spec.target.selector, kindByName('Host')) : undefined,
      metric: rule.spec.metric ? parseMetricCondition(rule.spec.metric) : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Whether a resource meets the rule's own condition (filter, and metric when it has one). */
export function meetsCondition(c: CompiledRule, r: Resource, metricValue: number | undefined): boolean {
  if (c.filter && !evaluateFilter(c.filter, r)) return false;
  if (c.metric) return metricValue !== undefined && meetsMetric(c.metric, metricValue);
  return true;
}

const LABEL_VALUE_MAX = 256;
const clip = (s: string) => (s.length > LABEL_VALUE_MAX ? s.slice(0, LABEL_VALUE_MAX) : s);

/**
 * The alert's labels (its identity for receivers and silences): alertname, severity, rule, kind,
 * resource, host, site, region and their ids, then the resource's own labels where they do not
 * clash.
 */
export function alertLabels(rule: AlertRule, r: Resource, place: Place): Record<string, string> {
  const out: Record<string, string> = {
    alertname: rule.name, severity: rule.spec.severity, rule: rule.id, project: r.project, kind: r.kind, resource: r.name, resourceId: r.id,
  };
  if (place.host) Object.assign(out, { host: place.host.name, hostId: place.host.id });
  if (place.site) Object.assign(out, { site: place.site.name, siteId: place.site.id });
  if (place.regions[0]) Object.assign(out, { region: place.regions[0].name, regionId: place.regions[0].id });
  for (const [k, v] of Object.entries(r.labels ?? {})) if (!(k in out)) out[k] = v;
  for (const k of Object.keys(out)) out[k] = clip(out[k]);
  return out;
}

/** The rendered summary and description. */
export function alertAnnotations(rule: AlertRule, r: Resource, place: Place, value: number | undefined): Record<string, string> {
  const ctx = { ...r, host: place.host, site: place.site, region: place.regions[0], rule, value };
  const summary = rule.spec.summary ? safeRender(rule.spec.summary, ctx) : `${rule.name}: ${r.kind} ${r.name}`;
  const out: Record<string, string> = { summary };
  if (rule.spec.description) out.description = safeRender(rule.spec.description, ctx);
  return out;
}

function safeRender(t: string, ctx: Record<string, unknown>): string {
  try {
    return renderTemplate(t, ctx, 4096);
  } catch {
    return t.slice(0, 4096);
  }
}

/** A stable hash of the (rule, resource) pair, as receivers see it (`fingerprint`). */
export function fingerprintOf(ruleId: string, resourceId: string): string {
  return createHash('sha256').update(`${ruleId}\n${resourceId}`).digest('hex').slice(0, 16);
}
