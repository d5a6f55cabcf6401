import { readFileSync } from 'node:fs';
import type { AgentCommand, CommandResult } from '../api/index.ts';
import { writeFileAtomic } from './atomic-file.ts';

export interface JournalEntry {
  id: string;
  type: AgentCommand['type'];
  state: 'started' | 'finished';
  startedAt: string;
  /** The kernel boot id when it started: a power command that outlived a reboot took effect. */
  bootId?: string;
  /** For power commands, the target state. */
  power?: string;
  result?: CommandResult;
}

export interface CommandJournalOptions {
  /** Where to keep the last `persistLimit` entries; memory only when absent. */
  file?: string;
  /** @default 1000 */
  persistLimit?: number;
  /** @default 10000 */
  memoryLimit?: number;
  now?: () => number;
}

/**
 * The commands this agent started and finished, so that a command delivered again (a stream
 * reconnect, an agent restart) never runs twice. Written before a command runs and when it ends.
 * @example if (!journal.get(cmd.id)) { journal.start(cmd, bootId); …; journal.finish(cmd.id, result) }
 */
export class CommandJournal {
  private readonly entries = new Map<string, JournalEntry>();
  private readonly persistLimit: number;
  private readonly memoryLimit: number;
  private readonly now: () => number;

  constructor(private readonly options: CommandJournalOptions = {}) {
    this.persistLimit = options.persistLimit ?? 1000;
    this.memoryLimit = Math.max(options.memoryLimit ?? 10_000, this.persistLimit);
    this.now = options.now ?? Date.now;
    if (options.file) this.load(options.file);
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.get(id);
  }

  get size(): number {
    return this.entries.size;
  }

  start(command: AgentCommand, bootId?: string): void {
    const entry: JournalEntry = { id: command.id, type: command.type, state: 'started', startedAt: new Date(this.now()).toISOString() };
    if (bootId) entry.bootId = bootId;
    if (command.type === 'power' && typeof command.params.state === 'string') entry.power = command.params.state;
    this.entries.delete(command.id);
    this.entries.set(command.id, entry);
    this.trim();
    this.persist();
  }

  finish(id: string, result: CommandResult): void {
    const entry = this.entries.get(id);
    if (!entry) throw new Error(`journal: finish of command ${id}, which never started`);
    entry.state = 'finished';
    entry.result = result;
    this.persist();
  }

  private trim(): void {
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.memoryLimit) break;
      this.entries.delete(id);
    }
  }

  private persist(): void {
    if (!this.options.file) return;
    const last = [...this.entries.values()].slice(-this.persistLimit);
    writeFileAtomic(this.options.file, JSON.stringify({ version: 1, commands: last }) + '\n');
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      const parsed = JSON.parse(text) as { commands: JournalEntry[] };
      for (const e of parsed.commands) this.entries.set(e.id, e);
    } catch (e) {
      // A damaged journal could let a command run twice: refuse to start rather than guess.
      throw new Error(`${file} is damaged (${(e as Error).message}); it lists the commands already run: repair it, or delete it if running recent commands again is safe`, { cause: e });
    }
  }
}
