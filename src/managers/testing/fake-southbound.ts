import { AGENT_ENROLLED, HOST_NO_CONNECTION, HOST_RUNNING, type Inventory, isEimError, type Resource, type ResourceOf } from '../../api/index.ts';
import { Informer } from '../../client/index.ts';

type Command = ResourceOf<'Command'> & Resource;
type Host = ResourceOf<'Host'> & Resource;

/** How the fake agent answers one command. */
export interface Answer {
  outcome: 'succeed' | 'recoverable' | 'unrecoverable' | 'never';
  /** Time to the final answer (a `running` with progress 50 comes halfway). @default the southbound's answerMs */
  afterMs?: number;
  message?: string;
}

export interface FakeSouthboundOptions {
  project?: string;
  /** @default 20 */
  answerMs?: number;
  /** Decides each command's answer; `nth` counts the owner's commands of that type from 1. @default every command succeeds */
  answer?: (cmd: Command, nth: number) => Answer;
}

/** One command the fake agent received. */
export interface Delivery {
  id: string;
  type: string;
  ownerId?: string;
  hostId: string;
  params: Record<string, unknown>;
  /** Date.now() when it was delivered. */
  at: number;
  nth: number;
}

/**
 * Plays the server's southbound layer and the agents, through the same Inventory the managers use
 * (a manager caller): enrolment and heartbeat writes as the real southbound makes them
 * (registrationStatus "agent enrolled …", hostStatus "running" / "no connection"), and Command
 * answers (`running` with progress, then `succeeded` or `failed` with `recoverable`). An offline
 * host gets its pending commands when it reconnects, as the real stream replays them.
 */
export class FakeSouthbound {
  readonly deliveries: Delivery[] = [];
  answer: (cmd: Command, nth: number) => Answer;
  private readonly informer: Informer<'Command', Command>;
  private readonly offline = new Set<string>();
  private readonly delivered = new Set<string>();
  private readonly counts = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly answerMs: number;
  /** Each command's answers in flight, in order. */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly project: string;

  constructor(
    private readonly inventory: Inventory,
    options: FakeSouthboundOptions = {},
  ) {
    this.project = options.project ?? 'default';
    this.answerMs = options.answerMs ?? 20;
    this.answer = options.answer ?? (() => ({ outcome: 'succeed' }));
    this.informer = new Informer<'Command', Command>({ inventory, project: this.project, kind: 'Command' });
    this.informer.on({ add: (c) => this.deliver(c) });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await this.informer.stop();
  }

  /** Deliveries of one owner (and type). */
  of(ownerId: string, type?: string): Delivery[] {
    return this.deliveries.filter((d) => d.ownerId === ownerId && (!type || d.type === type));
  }

  /** The agent enrolled and heartbeats: what the southbound layer writes. */
  async enroll(host: Host): Promise<void> {
    const now = new Date().toISOString();
    await this.inventory.updateStatus(this.project, 'Host', host.id, {
      registrationStatus: { indicator: 'idle', message: `${AGENT_ENROLLED} (uuid ${host.spec.uuid ?? '-'}, serial ${host.spec.serialNumber ?? '-'})`, timestamp: now },
      hostStatus: { indicator: 'idle', message: HOST_RUNNING, timestamp: now },
      lastSeenAt: now,
    });
  }

  /** Heartbeats stopped: "no connection"; its commands wait. */
  async disconnect(hostId: string): Promise<void> {
    this.offline.add(hostId);
    await this.inventory.updateStatus(this.project, 'Host', hostId, { hostStatus: { indicator: 'error', message: HOST_NO_CONNECTION, timestamp: new Date().toISOString() } });
  }

  /** Heartbeats again: "running", and the commands that waited are delivered. */
  async reconnect(hostId: string): Promise<void> {
    this.offline.delete(hostId);
    const now = new Date().toISOString();
    await this.inventory.updateStatus(this.project, 'Host', hostId, { hostStatus: { indicator: 'idle', message: HOST_RUNNING, timestamp: now }, lastSeenAt: now });
    for (const c of this.informer.list()) if (c.spec.hostId === hostId) this.deliver(c);
  }

  private deliver(c: Command): void {
    if (this.stopped || this.delivered.has(c.id) || c.status.state !== 'pending' || this.offline.has(c.spec.hostId)) return;
    this.delivered.add(c.id);
    const key = `${c.spec.ownerId}/${c.spec.type}`;
    const nth = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, nth);
    this.deliveries.push({ id: c.id, type: c.spec.type, ownerId: c.spec.ownerId, hostId: c.spec.hostId, params: c.spec.params, at: Date.now(), nth });
    const a = this.answer(c, nth);
    if (a.outcome === 'never') return;
    const total = a.afterMs ?? this.answerMs;
    this.later(total / 2, () => this.write(c, { state: 'running', progress: 50, startedAt: new Date().toISOString() }));
    this.later(total, () => {
      const endedAt = new Date().toISOString();
      if (a.outcome === 'succeed') return this.write(c, { state: 'succeeded', progress: 100, message: a.message ?? `${c.spec.type} done`, endedAt });
      return this.write(c, { state: 'failed', recoverable: a.outcome === 'recoverable', message: a.message ?? (a.outcome === 'recoverable' ? 'download timed out' : 'checksum mismatch'), endedAt });
    });
  }

  private later(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) void fn();
    }, ms);
    this.timers.add(t);
  }

  /**
   * Writes one answer of a command after the ones before it, as a real agent posts them (one
   * chain per command): two timers' writes racing would let a late `running` land on top of the
   * final answer and leave the command running for good.
   */
  private write(c: Command, status: Record<string, unknown>): Promise<void> {
    const next = (this.writing.get(c.id) ?? Promise.resolve()).then(async () => {
      try {
        await this.inventory.updateStatus(c.project, 'Command', c.id, status);
      } catch (e) {
        // The manager removed it (superseded, or its owner went): nobody waits for the answer.
        if (!(isEimError(e) && e.code === 'not_found')) throw e;
      }
    });
    const settled = next.catch(() => {});
    this.writing.set(c.id, settled);
    void settled.then(() => this.writing.get(c.id) === settled && this.writing.delete(c.id));
    return next;
  }
}
