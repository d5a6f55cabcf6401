import type { InventoryClient } from '../client/index.ts';
import type { FleetSimulator } from './fleet-simulator.ts';

/** Desired power states that switch a powered-off machine on. */
const SWITCHES_ON = new Set(['on', 'reset', 'power-cycle']);

/**
 * The simulated machines' out-of-band power control (a BMC, Intel AMT): a powered-off node is
 * silent, so no agent can hear a power command; this watches the project's Hosts and switches a
 * powered-off node on when its host's desiredPowerState asks for on, reset or power-cycle. Its
 * agent then boots, reconnects, and the host manager finishes the command as with any host.
 * Needs a token that may read the project's hosts (the simulator's login).
 * @example const bmc = new SimBmc(inv, 'default', sim); void bmc.run(); … bmc.stop()
 */
export class SimBmc {
  private readonly stopping = new AbortController();
  /** Machines this switched on. */
  poweredOn = 0;

  constructor(
    private readonly inv: InventoryClient,
    private readonly project: string,
    private readonly sim: FleetSimulator,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  /** Watches until stop(); the watch resumes by itself after a lost connection. */
  async run(): Promise<void> {
    try {
      for await (const item of this.inv.watch({ project: this.project, kinds: ['Host'], signal: this.stopping.signal })) {
        if (item.type !== 'event') continue;
        const ev = item.event();
        if (ev.type === 'DELETED') continue;
        const want = (ev.object.spec as { desiredPowerState?: string }).desiredPowerState;
        if (!want || !SWITCHES_ON.has(want)) continue;
        const index = this.sim.indexOfHost(ev.id);
        if (index !== undefined && this.sim.isOff(index) && this.sim.powerOn(index)) this.poweredOn++;
      }
    } catch (e) {
      if (!this.stopping.signal.aborted) this.onError(`out-of-band power control stopped: ${(e as Error).message}; powered-off nodes stay off`);
    }
  }

  stop(): void {
    this.stopping.abort();
  }
}
