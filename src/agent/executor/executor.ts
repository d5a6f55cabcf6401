import type { AgentCommand, CommandResult } from '../../api/index.ts';

/** Reports how far a command got, 0–100, with an optional note ("downloading 1.2 of 3.4 GB"). */
export type Progress = (percent: number, message?: string) => void;

/**
 * Runs the commands of the southbound protocol on a machine: `linux` on the real one, `sim` in
 * the simulator. `run` never throws: every outcome, including a bad command, is a CommandResult
 * (`failed` says whether trying again may help). When `signal` aborts (the agent is stopping),
 * run returns soon; its result is then not reported.
 */
export interface Executor {
  readonly name: string;
  run(command: AgentCommand, progress: Progress, signal: AbortSignal, context?: RunContext): Promise<CommandResult>;
  /** The machine's power after the commands so far. @default 'on' (a machine running its agent is on) */
  powerState?(): 'on' | 'off';
}

/** What the agent knows about its machine when a command runs. */
export interface RunContext {
  /** The OS profile the agent last installed or updated to (agent.json), if any. */
  osId?: string;
}

/** A `succeeded` result. */
export function succeeded(message: string, details?: Record<string, unknown>): CommandResult {
  return { state: 'succeeded', message: clip(message), ...(details ? { details } : {}) };
}

/** A `failed` result; `recoverable` says whether the same command may work later. */
export function failed(message: string, recoverable: boolean, details?: Record<string, unknown>): CommandResult {
  return { state: 'failed', recoverable, message: clip(message), ...(details ? { details } : {}) };
}

const clip = (m: string) => (m.length > 4096 ? `${m.slice(0, 4093)}...` : m);
