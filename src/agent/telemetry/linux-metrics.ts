import { statfs as fsStatfs } from 'node:fs/promises';
import type { MetricGroup } from '../../api/index.ts';
import type { SystemAccess } from '../discovery/system-access.ts';
import type { Sample } from './otlp-batch.ts';

/** What statvfs says of a mounted filesystem (block counts in `bsize` units). */
export interface FsStats {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export interface MetricSource {
  /** Collects one group at time `t` (ms); throws nothing: what cannot be read is left out. */
  collect(group: MetricGroup, t: number): Promise<Sample[]>;
}

const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
const REAL_FS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'exfat', 'f2fs', 'zfs', 'jfs', 'reiserfs', 'ntfs', 'ntfs3', 'fuseblk']);

/** statvfs through Node (fs.statfs). */
export async function nodeStatfs(path: string): Promise<FsStats | undefined> {
  try {
    const s = await fsStatfs(path);
    return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail };
  } catch {
    return undefined;
  }
}

/**
 * The metric groups read from /proc and /sys (through SystemAccess, so tests feed fixtures):
 * cpu (utilization per mode over the interval since the last read, since boot at the first),
 * memory (as `free` counts it), disk (statvfs per mounted filesystem, as `df`), diskio, net
 * (per interface, `lo` left out), load, temp (hwmon and thermal zones). Names and attributes follow
 * the OpenTelemetry semantic conventions for system metrics.
 * @example await new LinuxMetrics(nodeSystemAccess).collect('memory', Date.now())
 */
export class LinuxMetrics implements MetricSource {
  private lastCpu?: number[];

  constructor(
    private readonly sys: SystemAccess,
    private readonly statfs: (path: string) => Promise<FsStats | undefined> = nodeStatfs,
  ) {}

  async collect(group: MetricGroup, t: number): Promise<Sample[]> {
    switch (group) {
      case 'cpu':
        return this.cpu(t);
      case 'memory':
        return this.memory(t);
      case 'disk':
        return this.disk(t);
      case 'diskio':
        return this.diskio(t);
      case 'net':
        return this.net(t);
      case 'load':
        return this.load(t);
      case 'temp':
        return this.temp(t);
    }
  }

  private async cpu(t: number): Promise<Sample[]> {
    const stat = await this.sys.readFile('/proc/stat');
    const line = stat?.split('\n').find((l) => l.startsWith('cpu '));
    if (!line) return [];
    const now = line.trim().split(/\s+/).slice(1, 1 + CPU_MODES.length).map(Number);
    const prev = this.lastCpu;
    this.lastCpu = now;
    const delta = prev ? now.map((v, i) => Math.max(0, v - prev[i])) : now;
    const total = delta.reduce((a, b) => a + b, 0);
    if (total <= 0) return [];
    return CPU_MODES.map((mode, i) => ({ name: 'system.cpu.utilization', attrs: { 'cpu.mode': mode }, type: 'gauge' as const, unit: '1', value: (delta[i] ?? 0) / total, t }));
  }

  private async memory(t: number): Promise<Sample[]> {
    const text = await this.sys.readFile('/proc/meminfo');
    if (!text) return [];
    const kb: Record<string, number> = {};
    for (const l of text.split('\n')) {
      const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(l);
      if (m) kb[m[1]] = Number(m[2]) * 1024;
    }
    const total = kb.MemTotal;
    if (!total) return [];
    const free = kb.MemFree ?? 0;
    const buffers = kb.Buffers ?? 0;
    const cached = (kb.Cached ?? 0) + (kb.SReclaimable ?? 0);
    const available = kb.MemAvailable ?? free + buffers + cached;
    const g = (name: string, value: number, attrs: Record<string, string> = {}): Sample => ({ name, attrs, type: 'gauge', unit: 'By', value, t });
    const out = [
      g('system.memory.limit', total),
      g('system.memory.linux.available', available),
      g('system.memory.usage', Math.max(0, total - free - buffers - cached), { 'system.memory.state': 'used' }),
      g('system.memory.usage', free, { 'system.memory.state': 'free' }),
      g('system.memory.usage', cached, { 'system.memory.state': 'cached' }),
      g('system.memory.usage', buffers, { 'system.memory.state': 'buffers' }),
    ];
    if (kb.SwapTotal !== undefined) {
      out.push(g('system.paging.usage', kb.SwapTotal - (kb.SwapFree ?? 0), { 'system.paging.state': 'used' }), g('system.paging.usage', kb.SwapFree ?? 0, { 'system.paging.state': 'free' }));
    }
    return out;
  }

  private async disk(t: number): Promise<Sample[]> {
    const mounts = await this.sys.readFile('/proc/mounts');
    if (!mounts) return [];
    const seen = new Set<string>();
    const out: Sample[] = [];
    for (const l of mounts.split('\n')) {
      const [device, rawMount, type] = l.split(' ');
      if (!device || !REAL_FS.has(type) || seen.has(device)) continue;
      seen.add(device);
      const mount = rawMount.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      const s = await this.statfs(mount);
      if (!s || s.blocks <= 0) continue;
      const attrs = { 'system.device': device, 'system.filesystem.mountpoint': mount, 'system.filesystem.type': type };
      const used = (s.blocks - s.bfree) * s.bsize;
      const free = s.bavail * s.bsize;
      const reserved = (s.bfree - s.bavail) * s.bsize;
      for (const [state, value] of [['used', used], ['free', free], ['reserved', reserved]] as const) {
        out.push({ name: 'system.filesystem.usage', attrs: { ...attrs, 'system.filesystem.state': state }, type: 'gauge', unit: 'By', value, t });
      }
      out.push({ name: 'system.filesystem.utilization', attrs, type: 'gauge', unit: '1', value: used + free > 0 ? used / (used + free) : 0, t });
    }
    return out;
  }

  private async diskio(t: number): Promise<Sample[]> {
    const text = await this.sys.readFile('/proc/diskstats');
    if (!text) return [];
    const disks = new Set(await this.sys.readDir('/sys/block'));
    const out: Sample[] = [];
    for (const l of text.split('\n')) {
      const f = l.trim().split(/\s+/);
      const name = f[2];
      if (!name || (disks.size > 0 && !disks.has(name)) || /^(loop|ram|zram)\d/.test(name)) continue;
      if (f.length < 10 || !f.slice(3, 10).every((x) => /^\d+$/.test(x))) continue; // a line without the counters would make NaN samples
      const c = (n: string, dir: string, value: number, unit: string): Sample => ({ name: n, attrs: { 'system.device': name, 'disk.io.direction': dir }, type: 'counter', unit, value, t });
      out.push(
        c('system.disk.io', 'read', Number(f[5]) * 512, 'By'),
        c('system.disk.io', 'write', Number(f[9]) * 512, 'By'),
        c('system.disk.operations', 'read', Number(f[3]), '{operation}'),
        c('system.disk.operations', 'write', Number(f[7]), '{operation}'),
      );
    }
    return out;
  }

  private async net(t: number): Promise<Sample[]> {
    const text = await this.sys.readFile('/proc/net/dev');
    if (!text) return [];
    const out: Sample[] = [];
    for (const l of text.split('\n').slice(2)) {
      const m = /^\s*([^:]+):\s*(.*)$/.exec(l);
      if (!m || m[1] === 'lo') continue;
      const f = m[2].trim().split(/\s+/).map(Number);
      const iface = m[1].trim();
      const c = (n: string, dir: string, value: number, unit: string): Sample => ({ name: n, attrs: { 'network.interface.name': iface, 'network.io.direction': dir }, type: 'counter', unit, value, t });
      out.push(
        c('system.network.io', 'receive', f[0], 'By'),
        c('system.network.io', 'transmit', f[8], 'By'),
        c('system.network.packets', 'receive', f[1], '{packet}'),
        c('system.network.packets', 'transmit', f[9], '{packet}'),
        c('system.network.errors', 'receive', f[2], '{error}'),
        c('system.network.errors', 'transmit', f[10], '{error}'),
      );
    }
    return out;
  }

  private async load(t: number): Promise<Sample[]> {
    const text = await this.sys.readFile('/proc/loadavg');
    const f = text?.trim().split(/\s+/).map(Number);
    if (!f || f.length < 3 || f.slice(0, 3).some((v) => !Number.isFinite(v))) return [];
    return (['1m', '5m', '15m'] as const).map((w, i) => ({ name: `system.cpu.load_average.${w}`, attrs: {}, type: 'gauge' as const, unit: '{thread}', value: f[i], t }));
  }

  private async temp(t: number): Promise<Sample[]> {
    const out: Sample[] = [];
    const sample = (id: string, name: string, milli: string | undefined) => {
      const v = Number(milli?.trim());
      if (milli !== undefined && Number.isFinite(v)) out.push({ name: 'hw.temperature', attrs: { 'hw.id': id, 'hw.name': name }, type: 'gauge', unit: 'Cel', value: v / 1000, t });
    };
    for (const hw of await this.sys.readDir('/sys/class/hwmon')) {
      const dir = `/sys/class/hwmon/${hw}`;
      const chip = (await this.sys.readFile(`${dir}/name`))?.trim() ?? hw;
      for (const f of (await this.sys.readDir(dir)).filter((x) => /^temp\d+_input$/.test(x))) {
        const n = f.slice(0, -'_input'.length);
        const label = (await this.sys.readFile(`${dir}/${n}_label`))?.trim();
        sample(`${hw}_${n}`, label ? `${chip} ${label}` : chip, await this.sys.readFile(`${dir}/${f}`));
      }
    }
    for (const z of (await this.sys.readDir('/sys/class/thermal')).filter((x) => x.startsWith('thermal_zone'))) {
      const type = (await this.sys.readFile(`/sys/class/thermal/${z}/type`))?.trim() ?? z;
      sample(z, type, await this.sys.readFile(`/sys/class/thermal/${z}/temp`));
    }
    return out;
  }
}
