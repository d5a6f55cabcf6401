import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FleetSimOptions, FleetStats } from '../../src/sim/fleet-simulator.ts';
import { childArgs } from './child-bundle.ts';
import { trackChild } from './cleanup.ts';
import { REPO_ROOT } from './server-process.ts';

const CHILD = fileURLToPath(new URL('./sim-child.ts', import.meta.url));

/** The JSON argument of bench/lib/sim-child.ts: the simulator's options it passes on, and its report interval. */
export interface SimChildOptions extends Pick<FleetSimOptions, 'server' | 'enrollmentToken' | 'nodes' | 'seed' | 'heartbeatMs' | 'provisionTimeMs' | 'startRate'> {
  /** How often the child writes a stats line. @default 2000 */
  reportMs?: number;
}

export interface SimProcessOptions extends SimChildOptions {
  /** Run the child with node --cpu-prof into `<cpuProfDir>/<label>/`. */
  cpuProfDir?: string;
  label: string;
}

/** One stats line of bench/lib/sim-child.ts. */
export interface SimStats extends FleetStats {
  at: number;
  rssMb: number;
  peakMb: number;
  heapMb: number;
  loopP99Ms: number;
  warnings: number;
  firstWarnings: Record<string, number>;
  /** Most requests waiting for a socket of the simulator's shared pool (256) since the last line. */
  poolQueuedMax: number;
  poolSockets: number;
}

/**
 * The fleet simulator in a child process (bench/lib/sim-child.ts), killed on the bench's exit.
 * @example const sim = await SimProcess.spawn({ server, enrollmentToken, nodes: 1000, label: 'sim' }); …; await sim.stop()
 */
export class SimProcess {
  /** Monotonic time right before the child called FleetSimulator.start(). */
  startingAt = Number.NaN;
  /** When start() resolved (every node launched); NaN until then. */
  startedAt = Number.NaN;
  latest?: SimStats;
  /** Its largest VmHWM seen (MiB). */
  peakMb = 0;
  /** The most requests seen waiting for a pooled socket, since `resetPoolQueued()`. */
  poolQueuedMax = 0;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async spawn(o: SimProcessOptions): Promise<SimProcess> {
    const prof = o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(o.cpuProfDir, o.label)] : [];
    const { cpuProfDir: _p, label, ...args } = o;
    const child = spawn(process.execPath, [...prof, ...(await childArgs(CHILD)), JSON.stringify(args)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    trackChild(child);
    const sim = new SimProcess(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator ${label} did not start within 60 s`)), 60_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let m: { type: string; at: number } & Partial<SimStats>;
        try {
          m = JSON.parse(line);
        } catch {
          process.stderr.write(`[${label}] ${line}\n`);
          return;
        }
        if (m.type === 'starting') {
          sim.startingAt = m.at;
          clearTimeout(timer);
          resolve();
        } else if (m.type === 'started') sim.startedAt = m.at;
        else if (m.type === 'stats') {
          sim.latest = m as SimStats;
          sim.peakMb = Math.max(sim.peakMb, m.peakMb ?? 0);
          sim.poolQueuedMax = Math.max(sim.poolQueuedMax, m.poolQueuedMax ?? 0);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`simulator ${label} exited (code ${code}, signal ${signal})`));
      });
    });
    return sim;
  }

  /** Stops the nodes (SIGTERM: the child reports once more and exits); SIGKILL after 30 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}
