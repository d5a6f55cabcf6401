import { type CommandType, type Inventory, isEimError, type Resource, type ResourceOf } from '../../api/index.ts';
import type { Informer } from '../../client/index.ts';
import { InformerIndex } from './informer-index.ts';

export type CommandResource = ResourceOf<'Command'> & Resource;

/** What a manager asks an agent to do. */
export interface CommandRequest {
  project: string;
  hostId: string;
  type: CommandType;
  params: Record<string, unknown>;
  /** The resource the command serves (an instance, the host itself); its manager hears the answer. */
  ownerId: string;
}

/**
 * Whom a command serves: a resource (a host, an instance, an OS update run) of one project, on one
 * host. A command matches its owner only when all three agree, so a command in another project (or
 * for another host) that names the same owner id is never taken for the owner's.
 */
export interface CommandOwner {
  project: string;
  id: string;
  /** The host the owner's commands run on; undefined when it is not known any more (an OS update run whose instance is gone). */
  hostId: string | undefined;
}

/** A host, as the owner of its own commands (power). */
export const hostOwner = (host: { project: string; id: string }): CommandOwner => ({ project: host.project, id: host.id, hostId: host.id });

/** An instance, as the owner of its install command. */
export const instanceOwner = (inst: { project: string; id: string; spec: { hostId: string } }): CommandOwner => ({ project: inst.project, id: inst.id, hostId: inst.spec.hostId });

/**
 * The name of the one Command an owner may have of a type. The store keeps names unique per
 * project, so two workers (or two manager processes) can never put two in flight for one owner.
 * @example commandName('inst-0a1b2c3d', 'install-os') // 'inst-0a1b2c3d-install-os'
 */
export const commandName = (ownerId: string, type: CommandType): string => `${ownerId}-${type}`;

/**
 * The managers' view of Commands: a shared Command informer indexed by owner (project, id and host
 * must all match: see CommandOwner), corrected for the
 * manager's own writes the cache has not caught up with yet (created: shown at once; deleted:
 * hidden at once). Owners hear about changes they did not make themselves: the agent's answers,
 * and removals by others (a cascade), so a manager's own deletes do not wake the owner early.
 * @example const t = new CommandTracker(inventory, commandInformer); t.onOwnerChange((id) => queue.add(id)); await t.create({ … })
 */
export class CommandTracker {
  private readonly byOwner: InformerIndex<CommandResource>;
  /** Created by us, not in the cache yet. */
  private readonly created = new Map<string, CommandResource>();
  /** Deleted by us, still in the cache. */
  private readonly deleted = new Set<string>();
  private readonly listeners: ((ownerId: string) => void)[] = [];
  readonly counters = { created: 0, deleted: 0 };

  constructor(
    private readonly inventory: Inventory,
    readonly informer: Informer<'Command', CommandResource>,
  ) {
    this.byOwner = new InformerIndex(informer, (c) => c.spec.ownerId);
    informer.on({
      add: (c) => {
        const mine = this.created.get(c.id);
        this.created.delete(c.id);
        // Our own create is no news; the agent may have answered before the cache saw it, though.
        if (mine?.revision !== c.revision) this.notify(c);
      },
      update: (_old, c) => {
        if (!this.deleted.has(c.id)) this.notify(c);
      },
      delete: (c) => {
        if (!this.deleted.delete(c.id)) this.notify(c);
      },
    });
  }

  /** Calls `fn` with the owner id of every command that changed for a reason other than our own write. */
  onOwnerChange(fn: (ownerId: string) => void): void {
    this.listeners.push(fn);
  }

  /** The owner's commands (of its project, on its host), oldest first. */
  ownedBy(owner: CommandOwner): CommandResource[] {
    const mine = (c: CommandResource) => c.spec.ownerId === owner.id && c.project === owner.project && (owner.hostId === undefined || c.spec.hostId === owner.hostId);
    const out = new Map<string, CommandResource>();
    for (const c of this.byOwner.get(owner.id)) if (!this.deleted.has(c.id) && mine(c)) out.set(c.id, c);
    for (const c of this.created.values()) if (mine(c) && !out.has(c.id)) out.set(c.id, c);
    return [...out.values()].sort((a, b) => a.revision - b.revision);
  }

  /** The owner's command of a type, if one exists. */
  find(owner: CommandOwner, type: CommandType): CommandResource | undefined {
    return this.ownedBy(owner).findLast((c) => c.spec.type === type);
  }

  /**
   * Creates the command in state `pending` for the southbound layer to deliver. If the owner has one
   * of that type already (the cache had not shown it), returns that one instead.
   */
  async create(req: CommandRequest): Promise<CommandResource> {
    const name = commandName(req.ownerId, req.type);
    let cmd: CommandResource;
    try {
      cmd = await this.inventory.create(req.project, 'Command', {
        name,
        spec: { hostId: req.hostId, type: req.type, params: req.params, ownerId: req.ownerId },
        status: { state: 'pending' },
      });
      this.counters.created++;
    } catch (e) {
      if (!(isEimError(e) && e.code === 'conflict')) throw e;
      const page = await this.inventory.list(req.project, 'Command', { filter: `name = "${name}"`, pageSize: 1 });
      if (!page.items[0]) throw e;
      cmd = page.items[0];
    }
    if (!this.informer.get(cmd.id)) this.created.set(cmd.id, cmd);
    return cmd;
  }

  /** Deletes a command (one that is gone already counts as deleted). */
  async remove(cmd: CommandResource): Promise<void> {
    this.created.delete(cmd.id);
    // Only what the cache holds gets a delete event to clear the mark with.
    if (this.informer.get(cmd.id)) this.deleted.add(cmd.id);
    try {
      await this.inventory.delete(cmd.project, 'Command', cmd.id);
      this.counters.deleted++;
    } catch (e) {
      if (isEimError(e) && e.code === 'not_found') return;
      this.deleted.delete(cmd.id);
      throw e;
    }
  }

  /** Deletes every command of the owner. */
  async removeAll(owner: CommandOwner): Promise<void> {
    for (const c of this.ownedBy(owner)) await this.remove(c);
  }

  /**
   * Deletes the commands naming an owner that is gone (removed at once, so its project and host are
   * not known here). Commands name owners of their own project only (the Inventory's write policy),
   * and a command whose owner is gone serves nobody, in whichever project it is.
   */
  async removeOrphaned(ownerId: string): Promise<void> {
    const out = new Map<string, CommandResource>();
    for (const c of this.byOwner.get(ownerId)) if (!this.deleted.has(c.id)) out.set(c.id, c);
    for (const c of this.created.values()) if (c.spec.ownerId === ownerId) out.set(c.id, c);
    for (const c of out.values()) await this.remove(c);
  }

  /** Commands cached plus those created and not cached yet. */
  get size(): number {
    return this.informer.size + this.created.size - this.deleted.size;
  }

  private notify(c: CommandResource): void {
    const owner = c.spec.ownerId;
    if (!owner) return;
    for (const fn of this.listeners) fn(owner);
  }
}
