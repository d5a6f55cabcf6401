import { isEimError } from './errors.ts';
import { evaluateFilter, type FilterNode, parseFilter } from './filter.ts';
import { kindByName } from './registry.ts';

export { HostSelectorText } from './host-selector-text.ts';

// A selector names hosts by what they are rather than by id: an AIP-160 filter over hosts, their
// labels and inherited labels included (`inheritedLabels.env = "canary" AND inheritedLabels.geo = "eu"`).
// Schedules, telemetry profiles and OS update policies take one as `spec.target.selector`; so do
// alert rules and node configuration as they land. Parse and match here, nowhere else.

/** A parsed selector. */
export interface HostSelector {
  readonly text: string;
  readonly node: FilterNode;
}

/** What a selector matches against: a host as the Inventory holds it (status.inheritedLabels read as inheritedLabels.<key>). */
export interface SelectableHost {
  name: string;
  labels: Record<string, string>;
  spec: object;
  status: object;
}

/**
 * Parses a selector; throws EimError `invalid_argument` with the parser's message.
 * @example parseHostSelector('inheritedLabels.env = canary').node
 */
export function parseHostSelector(text: string): HostSelector {
  const node = parseFilter(text, kindByName('Host'));
  if (!node) throw new Error('unreachable: an empty selector fails the schema');
  return { text, node };
}

/**
 * What is wrong with a selector, as a kind's `check` says it (`where: filter: … at N`), or undefined when it parses.
 * @example selectorProblem('labels.env = ', 'spec.target.selector') // 'spec.target.selector: filter: expected a value after "=" at 13 …'
 */
export function selectorProblem(text: unknown, where: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.trim() === '') return `${where} is empty: give an AIP-160 filter over hosts, e.g. inheritedLabels.env = "canary"`;
  try {
    parseHostSelector(text);
    return undefined;
  } catch (e) {
    if (isEimError(e)) return `${where}: ${e.message}`;
    throw e;
  }
}

/**
 * Whether a host matches: the same semantics as the REST filter over hosts.
 * @example hostMatches(parseHostSelector('inheritedLabels.env = canary'), host)
 */
export function hostMatches(selector: HostSelector, host: SelectableHost): boolean {
  return evaluateFilter(selector.node, host);
}

/**
 * Parsed selectors by text, so many resources with one selector parse it once. At most `max`
 * kept (the oldest go first); texts that do not parse are not kept.
 * @example const cache = new HostSelectorCache(); cache.get(spec.target.selector)
 */
export class HostSelectorCache {
  private readonly parsed = new Map<string, HostSelector>();
  constructor(private readonly max = 1024) {}

  /** The parsed selector, or undefined when it does not parse (a stored one always does). */
  get(text: string): HostSelector | undefined {
    let s = this.parsed.get(text);
    if (s) return s;
    try {
      s = parseHostSelector(text);
    } catch {
      return undefined;
    }
    if (this.parsed.size >= this.max) this.parsed.delete(this.parsed.keys().next().value!);
    this.parsed.set(text, s);
    return s;
  }
}
