import type { LogGroup, LogLevel, MetricGroup } from '../../api/index.ts';
import { SEVERITY_NUMBER } from '../../api/index.ts';
import { seededRandom } from '../seeded-random.ts';
import type { LogSource } from './linux-logs.ts';
import type { MetricSource } from './linux-metrics.ts';
import type { LogEntry, Sample } from './otlp-batch.ts';

const GiB = 1024 ** 3;
const MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];
const LINES: [number, string][] = [
  [SEVERITY_NUMBER.info, 'systemd[1]: Started Daily apt download activities.'],
  [SEVERITY_NUMBER.info, 'kernel: eth0: link up, 1000 Mbps, full duplex'],
  [SEVERITY_NUMBER.warn, 'smartd[612]: Device: /dev/sda, SMART Usage Attribute: 194 Temperature_Celsius changed from 38 to 41'],
  [SEVERITY_NUMBER.warn, 'kernel: CPU0: Core temperature above threshold, cpu clock throttled'],
  [SEVERITY_NUMBER.error, 'kernel: blk_update_request: I/O error, dev sda, sector 2048'],
  [SEVERITY_NUMBER.debug, 'dhclient[801]: DHCPREQUEST for 10.0.0.17 on eth0'],
];

/**
 * Seeded synthetic telemetry for simulated nodes: plausible series (a CPU that wanders, memory and
 * disks that fill slowly, counters that only grow) and a few log lines a minute, the same for the
 * same seed. It names the same series as LinuxMetrics, so the server and console treat both alike.
 * @example const t = new SimTelemetry('sim-7'); await t.collect('cpu', Date.now())
 */
export class SimTelemetry implements MetricSource, LogSource {
  private readonly random: () => number;
  private busy: number;
  private memUsed: number;
  private diskUsed: number;
  private readonly memTotal: number;
  private readonly diskTotal: number;
  private counters = { rx: 0, tx: 0, rd: 0, wr: 0 };
  private lastT?: number;
  private lastLogT?: number;

  constructor(seed: string) {
    this.random = seededRandom(`telemetry-${seed}`);
    this.busy = 0.05 + this.random() * 0.5;
    this.memTotal = [4, 8, 16, 32][Math.floor(this.random() * 4)] * GiB;
    this.memUsed = this.memTotal * (0.2 + this.random() * 0.5);
    this.diskTotal = [64, 128, 256, 512][Math.floor(this.random() * 4)] * GiB;
    this.diskUsed = this.diskTotal * (0.1 + this.random() * 0.8);
  }

  /** Moves the simulated machine to time `t` (random walks; counters grow with elapsed time). */
  private advance(t: number): void {
    const dt = this.lastT === undefined ? 0 : Math.max(0, (t - this.lastT) / 1000);
    this.lastT = t;
    if (dt === 0) return;
    const walk = (v: number, lo: number, hi: number, step: number) => Math.max(lo, Math.min(hi, v + (this.random() - 0.5) * step));
    this.busy = walk(this.busy, 0.01, 0.99, 0.1);
    this.memUsed = walk(this.memUsed, 0.1 * this.memTotal, 0.97 * this.memTotal, 0.02 * this.memTotal);
    this.diskUsed = Math.min(0.99 * this.diskTotal, this.diskUsed + dt * 1024 * 1024 * this.random() * 0.2);
    const rate = 1e5 + this.busy * 5e6;
    this.counters.rx += Math.round(dt * rate * (0.5 + this.random()));
    this.counters.tx += Math.round(dt * rate * 0.3 * (0.5 + this.random()));
    this.counters.rd += Math.round(dt * rate * 0.2 * this.random());
    this.counters.wr += Math.round(dt * rate * 0.4 * this.random());
  }

  async collect(group: MetricGroup, t: number): Promise<Sample[]> {
    this.advance(t);
    const g = (name: string, value: number, unit: string, attrs: Record<string, string> = {}): Sample => ({ name, attrs, type: 'gauge', unit, value, t });
    const c = (name: string, value: number, unit: string, attrs: Record<string, string>): Sample => ({ name, attrs, type: 'counter', unit, value, t });
    switch (group) {
      case 'cpu': {
        const shares = [0.7, 0.02, 0.2, 0, 0.05, 0.01, 0.02, 0];
        return MODES.map((mode, i) => g('system.cpu.utilization', mode === 'idle' ? 1 - this.busy : this.busy * shares[i], '1', { 'cpu.mode': mode }));
      }
      case 'memory': {
        const free = (this.memTotal - this.memUsed) * 0.4;
        return [
          g('system.memory.limit', this.memTotal, 'By'),
          g('system.memory.linux.available', this.memTotal - this.memUsed, 'By'),
          g('system.memory.usage', this.memUsed, 'By', { 'system.memory.state': 'used' }),
          g('system.memory.usage', free, 'By', { 'system.memory.state': 'free' }),
        ];
      }
      case 'disk': {
        const attrs = { 'system.device': '/dev/sda1', 'system.filesystem.mountpoint': '/', 'system.filesystem.type': 'ext4' };
        const free = this.diskTotal - this.diskUsed;
        return [
          g('system.filesystem.usage', this.diskUsed, 'By', { ...attrs, 'system.filesystem.state': 'used' }),
          g('system.filesystem.usage', free, 'By', { ...attrs, 'system.filesystem.state': 'free' }),
          g('system.filesystem.utilization', this.diskUsed / this.diskTotal, '1', attrs),
        ];
      }
      case 'diskio':
        return [c('system.disk.io', this.counters.rd, 'By', { 'system.device': 'sda', 'disk.io.direction': 'read' }), c('system.disk.io', this.counters.wr, 'By', { 'system.device': 'sda', 'disk.io.direction': 'write' })];
      case 'net':
        return [
          c('system.network.io', this.counters.rx, 'By', { 'network.interface.name': 'eth0', 'network.io.direction': 'receive' }),
          c('system.network.io', this.counters.tx, 'By', { 'network.interface.name': 'eth0', 'network.io.direction': 'transmit' }),
        ];
      case 'load':
        return [g('system.cpu.load_average.1m', this.busy * 4, '{thread}'), g('system.cpu.load_average.5m', this.busy * 3.5, '{thread}'), g('system.cpu.load_average.15m', this.busy * 3, '{thread}')];
      case 'temp':
        return [g('hw.temperature', 35 + this.busy * 40, 'Cel', { 'hw.id': 'thermal_zone0', 'hw.name': 'x86_pkg_temp' })];
    }
  }

  async problem(): Promise<string | undefined> {
    return undefined;
  }

  /** About one line every 10 s of simulated time, at or above `level`; the cursor is the time of the last read. */
  async read(group: LogGroup, level: LogLevel, cursor: string | undefined, max: number): Promise<{ entries: LogEntry[]; cursor: string | undefined }> {
    const now = Date.now();
    const from = cursor ? Number(cursor) : now;
    const entries: LogEntry[] = [];
    for (let t = from + 1 + Math.floor(this.random() * 10_000); t <= now && entries.length < max; t += 1 + Math.floor(this.random() * 20_000)) {
      const [severity, body] = LINES[Math.floor(this.random() * LINES.length)];
      if (severity >= SEVERITY_NUMBER[level] && (group !== 'kernel' || body.startsWith('kernel'))) entries.push({ t, severity, body, attrs: { 'log.source': 'sim' } });
    }
    this.lastLogT = now;
    return { entries, cursor: String(entries.length >= max ? entries[entries.length - 1].t : now) };
  }
}
