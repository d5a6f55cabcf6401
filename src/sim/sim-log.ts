import type { AgentLog } from '../agent/index.ts';

/** Distinct situations remembered per interval: one odd message per node cannot grow this without bound. */
const MAX_KEYS = 50;
/** Node names listed after a summary line at most. */
const MAX_NAMES = 3;

/** What a summary line counts: the nodes in one situation during the interval. */
interface Situation {
  level: 'warn' | 'error';
  text: string;
  nodes: Set<string>;
}

/**
 * What a node's warning or error means for someone watching a fleet: "waiting to enrol", "reconnecting:
 * server unreachable", or the message with what differs from node to node (names, ids, numbers,
 * delays) taken out, so that many nodes in one situation make one line.
 * @example situationOf('enrollment failed: no registered host matches uuid 1f…; trying again in 2.1 s') // 'waiting to enrol: no registered host matches them yet'
 */
export function situationOf(message: string): string {
  const m = message.replace(/;? ?trying again (in [\d.]+ s|every [\d.]+ s)/g, '');
  if (/^enrollment failed: .*(not_found|no (registered )?host|register)/i.test(m)) return 'waiting to enrol: no registered host matches them yet (register them, or run with --auto-register)';
  if (/fetch failed|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|socket hang up|unavailable|\(503\)|other side closed|terminated/i.test(m)) return 'reconnecting: server unreachable';
  if (/was invalidated or deleted/.test(m)) return 'stopped: their hosts were invalidated or deleted (agent tokens revoked)';
  return m
    .replace(/\b[a-z]+-[0-9a-f]{8}\b/g, '…')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '…')
    .replace(/\b\d+(\.\d+)?\b/g, 'N')
    .trim();
}

/**
 * The simulator's log: agents' warnings and errors, per node with `verbose`, otherwise summed up
 * per interval (`flush()`): "30 nodes waiting to enrol: …", "50 nodes reconnecting: server
 * unreachable", naming a few of them. A fleet of 1,000 nodes failing together is one line, not
 * a thousand.
 * @example const log = new SimLog((l) => err.line(l)); sim = new FleetSimulator({ …, log: log }); setInterval(() => log.flush(), 5000)
 */
export class SimLog {
  private readonly situations = new Map<string, Situation>();
  private dropped = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly verbose = false,
  ) {}

  /** The AgentLog of one node. */
  forNode(node: string): AgentLog {
    return {
      info: (m) => this.verbose && this.write(`info  ${node}: ${m}`),
      warn: (m) => this.add('warn', node, m),
      error: (m) => this.add('error', node, m),
    };
  }

  /** Something the simulator itself says (not a node): printed at once. */
  say(line: string): void {
    this.write(line);
  }

  /** Prints one line per situation seen since the last flush, most nodes first. */
  flush(): void {
    const all = [...this.situations.values()].sort((a, b) => b.nodes.size - a.nodes.size);
    this.situations.clear();
    for (const s of all) {
      const names = [...s.nodes].sort();
      const some = names.slice(0, MAX_NAMES).join(', ') + (names.length > MAX_NAMES ? ', …' : '');
      this.write(`${s.level === 'error' ? 'error' : 'warn '} ${names.length} node${names.length === 1 ? '' : 's'} ${s.text} (${some})`);
    }
    if (this.dropped > 0) this.write(`warn  ${this.dropped} more warnings of other kinds (run with --verbose to see each)`);
    this.dropped = 0;
  }

  private add(level: 'warn' | 'error', node: string, message: string): void {
    if (this.verbose) return this.write(`${level === 'error' ? 'error' : 'warn '} ${node}: ${message}`);
    const text = situationOf(message);
    const key = `${level}\u0000${text}`;
    let s = this.situations.get(key);
    if (!s) {
      if (this.situations.size >= MAX_KEYS) {
        this.dropped++;
        return;
      }
      this.situations.set(key, (s = { level, text, nodes: new Set() }));
    }
    s.nodes.add(node);
  }
}
