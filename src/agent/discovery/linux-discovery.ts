import type { HardwareReport } from '../../api/index.ts';
import { parseLsusb, parseLspciGpus } from './device-list-parsers.ts';
import type { Discovery } from './discovery.ts';
import { normalizeHardwareReport } from './hardware-report.ts';
import { parseCpuInfo, parseMemTotal, parseOsRelease } from './proc-parsers.ts';
import { nodeSystemAccess, type SystemAccess } from './system-access.ts';

type Nic = HardwareReport['nics'][number];
type Storage = HardwareReport['storages'][number];

export interface LinuxDiscoveryOptions {
  /** Where files and commands are read. @default the real machine */
  system?: SystemAccess;
  /**
   * Also report interfaces without hardware behind them (bridges, veth, tunnels, ifb). Off by
   * default: on a container host veth pairs come and go with every pod, and each would be a
   * hardware change and a HostNic written and deleted. @default false
   */
  includeVirtualNics?: boolean;
}

const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;
const SKIPPED_BLOCK = /^(loop|ram|zram)\d*$/;
const DMI_FIELDS = {
  sys_vendor: 'systemVendor',
  product_name: 'productName',
  product_serial: 'serialNumber',
  product_uuid: 'uuid',
  bios_vendor: 'biosVendor',
  bios_version: 'biosVersion',
  bios_date: 'biosReleaseDate',
} as const;

/**
 * Reads the hardware of the Linux machine it runs on from /proc, /sys, /etc/os-release and, when
 * installed, `lspci` and `lsusb`. Anything unreadable is left out, never an error.
 * @example const report = await new LinuxDiscovery().scan()
 */
export class LinuxDiscovery implements Discovery {
  private readonly sys: SystemAccess;
  private readonly includeVirtualNics: boolean;

  constructor(options: LinuxDiscoveryOptions = {}) {
    this.sys = options.system ?? nodeSystemAccess;
    this.includeVirtualNics = options.includeVirtualNics ?? false;
  }

  async scan(): Promise<HardwareReport> {
    const [hardware, nics, storages, gpus, usbs] = await Promise.all([this.hardware(), this.nics(), this.storages(), this.gpus(), this.usbs()]);
    return normalizeHardwareReport({ hardware, nics, storages, gpus, usbs });
  }

  private async hardware(): Promise<HardwareReport['hardware']> {
    const cpu = parseCpuInfo((await this.sys.readFile('/proc/cpuinfo')) ?? '');
    const meminfo = await this.sys.readFile('/proc/meminfo');
    const osRelease = parseOsRelease((await this.sys.readFile('/etc/os-release')) ?? (await this.sys.readFile('/usr/lib/os-release')) ?? '');
    const dmi: Record<string, string> = {};
    for (const [file, field] of Object.entries(DMI_FIELDS)) {
      const v = (await this.sys.readFile(`/sys/class/dmi/id/${file}`))?.trim();
      if (v) dmi[field] = v;
    }
    return {
      hostname: this.sys.hostname(),
      cpuModel: cpu.model,
      cpuArchitecture: this.sys.arch(),
      cpuSockets: cpu.sockets,
      cpuCores: cpu.cores,
      cpuThreads: cpu.threads,
      memoryBytes: meminfo ? parseMemTotal(meminfo) : undefined,
      ...dmi,
      osName: osRelease.NAME,
      osVersion: osRelease.VERSION_ID,
      kernelVersion: this.sys.kernelRelease(),
    };
  }

  private async nics(): Promise<Nic[]> {
    const addresses = this.sys.networkInterfaces();
    const out: Nic[] = [];
    for (const name of await this.sys.readDir('/sys/class/net')) {
      if (name === 'lo') continue;
      const base = `/sys/class/net/${name}`;
      const real = await this.sys.realPath(base);
      const device = await this.sys.realPath(`${base}/device`);
      if (!this.includeVirtualNics && (!device || real?.includes('/devices/virtual/'))) continue;
      const driver = await this.sys.realPath(`${base}/device/driver`);
      const speed = intOf(await this.sys.readFile(`${base}/speed`));
      const ips = (addresses[name] ?? []).map((a) => a.cidr ?? a.address);
      out.push({
        deviceName: name,
        macAddress: (await this.sys.readFile(`${base}/address`))?.trim(),
        mtu: intOf(await this.sys.readFile(`${base}/mtu`)),
        linkState: linkState((await this.sys.readFile(`${base}/operstate`))?.trim()),
        speedMbps: speed !== undefined && speed > 0 && speed < 10_000_000 ? speed : undefined,
        pciAddress: device ? pciAddressOf(device) : undefined,
        driver: driver ? basename(driver) : undefined,
        ipAddresses: ips.length > 0 ? ips : undefined,
      });
    }
    return out;
  }

  private async storages(): Promise<Storage[]> {
    const out: Storage[] = [];
    for (const name of await this.sys.readDir('/sys/block')) {
      const base = `/sys/block/${name}`;
      const real = (await this.sys.realPath(base)) ?? '';
      // Loop, RAM, zram, device-mapper and md devices are views of other storage, not hardware.
      if (SKIPPED_BLOCK.test(name) || real.includes('/devices/virtual/')) continue;
      const sectors = intOf(await this.sys.readFile(`${base}/size`));
      const rotational = (await this.sys.readFile(`${base}/queue/rotational`))?.trim();
      const read = async (...files: string[]) => {
        for (const f of files) {
          const v = (await this.sys.readFile(`${base}/${f}`))?.trim();
          if (v) return v;
        }
        return undefined;
      };
      out.push({
        deviceName: name,
        model: await read('device/model'),
        vendor: await read('device/vendor'),
        serial: await read('serial', 'device/serial'),
        wwid: await read('wwid', 'device/wwid'),
        capacityBytes: sectors !== undefined && sectors >= 0 ? sectors * 512 : undefined,
        rotational: rotational === '1' ? true : rotational === '0' ? false : undefined,
        transport: transportOf(name, real),
      });
    }
    return out;
  }

  private async gpus(): Promise<HardwareReport['gpus']> {
    const text = await this.sys.exec('lspci', ['-mm', '-D']);
    return parseLspciGpus(text ?? '').map((d) => ({ deviceName: d.address, pciAddress: d.address, vendor: d.vendor || undefined, product: d.device || undefined, description: d.className }));
  }

  private async usbs(): Promise<HardwareReport['usbs']> {
    const text = await this.sys.exec('lsusb', []);
    return parseLsusb(text ?? '').map((d) => ({
      deviceName: `usb-${pad3(d.bus)}-${pad3(d.address)}`,
      bus: d.bus,
      address: d.address,
      vendorId: d.vendorId,
      productId: d.productId,
      description: d.description,
    }));
  }
}

function intOf(text: string | undefined): number | undefined {
  const n = Number.parseInt(text?.trim() ?? '', 10);
  return Number.isSafeInteger(n) ? n : undefined;
}

function linkState(operstate: string | undefined): Nic['linkState'] {
  if (operstate === 'up') return 'up';
  if (operstate === 'down' || operstate === 'lowerlayerdown' || operstate === 'notpresent') return 'down';
  return 'unknown';
}

/** The PCI function a NIC sits on: its device itself, or the parent of a virtio device. USB NICs have none. */
function pciAddressOf(devicePath: string): string | undefined {
  const parts = devicePath.split('/').filter(Boolean);
  let last = parts.pop();
  if (last && /^virtio\d+$/.test(last)) last = parts.pop();
  return last && PCI_ADDRESS.test(last) ? last.toLowerCase() : undefined;
}

function transportOf(name: string, real: string): string | undefined {
  if (name.startsWith('nvme') || real.includes('/nvme/')) return 'nvme';
  if (real.includes('/usb')) return 'usb';
  if (name.startsWith('vd') || real.includes('/virtio')) return 'virtio';
  if (name.startsWith('mmcblk')) return 'mmc';
  if (real.includes('/ata')) return 'sata';
  if (real.includes('/host') && real.includes('/target')) return 'scsi';
  return undefined;
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const pad3 = (n: number) => String(n).padStart(3, '0');
