import type { HardwareReport } from '../../api/index.ts';
import { seededRandom } from '../seeded-random.ts';
import type { Discovery } from './discovery.ts';
import { normalizeHardwareReport } from './hardware-report.ts';

export interface SimDiscoveryOptions {
  /** Same seed, same machine. */
  seed: number | string;
  /** @default `sim-<seed>` */
  hostname?: string;
}

const SYSTEMS = [
  { vendor: 'Dell Inc.', products: ['PowerEdge XR11', 'PowerEdge XR12', 'OptiPlex 7090'], bios: 'Dell Inc.' },
  { vendor: 'Lenovo', products: ['ThinkEdge SE350', 'ThinkEdge SE450', 'ThinkCentre M90q'], bios: 'LENOVO' },
  { vendor: 'HPE', products: ['ProLiant DL20 Gen10 Plus', 'Edgeline EL8000'], bios: 'HPE' },
  { vendor: 'Supermicro', products: ['SYS-E300-9D', 'SYS-110P-WTR'], bios: 'American Megatrends Inc.' },
  { vendor: 'ASUSTeK COMPUTER INC.', products: ['PN64', 'NUC 13 Pro'], bios: 'Intel Corp.' },
];
const CPUS = [
  { model: 'Intel(R) Xeon(R) D-2796TE CPU @ 2.00GHz', cores: 20, sockets: 1 },
  { model: 'Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz', cores: 32, sockets: 2 },
  { model: 'Intel(R) Core(TM) i7-1185GRE @ 2.80GHz', cores: 4, sockets: 1 },
  { model: '12th Gen Intel(R) Core(TM) i5-12500TE', cores: 6, sockets: 1 },
  { model: 'Intel(R) Atom(TM) x6425E @ 2.00GHz', cores: 4, sockets: 1 },
];
const OSES = [
  { name: 'Ubuntu', version: '22.04', kernel: '5.15.0-119-generic' },
  { name: 'Ubuntu', version: '24.04', kernel: '6.8.0-45-generic' },
  { name: 'Edge Microvisor Toolkit', version: '3.0', kernel: '6.6.44-3.emt3' },
];
const NICS = [
  { driver: 'igc', speed: 2500 },
  { driver: 'ice', speed: 25000 },
  { driver: 'ixgbe', speed: 10000 },
  { driver: 'e1000e', speed: 1000 },
];
const DISKS = [
  { model: 'SAMSUNG MZVL2512HCJQ-00B00', vendor: undefined, gib: 512, nvme: true },
  { model: 'INTEL SSDPE2KX040T8', vendor: undefined, gib: 3815, nvme: true },
  { model: 'Micron_5300_MTFDDAK960TDS', vendor: 'ATA', gib: 894, nvme: false },
  { model: 'ST2000NM000A-2J2100', vendor: 'ATA', gib: 1863, nvme: false },
];
const USBS = [
  { vendorId: '0781', productId: '5583', description: 'SanDisk Corp. Ultra Fit' },
  { vendorId: '046d', productId: 'c52b', description: 'Logitech, Inc. Unifying Receiver' },
  { vendorId: '8087', productId: '0033', description: 'Intel Corp. AX211 Bluetooth' },
  { vendorId: '0403', productId: '6001', description: 'Future Technology Devices International, Ltd FT232 Serial (UART) IC' },
];
const GIB = 1024 ** 3;

/**
 * Plausible, deterministic hardware for a simulated node: the same seed always gives the same
 * machine (uuid, serial, MACs included), different seeds different machines.
 * @example simHardware('node-17').hardware.serialNumber // the same on every run
 */
export function simHardware(seed: number | string, hostname = `sim-${seed}`): HardwareReport {
  const r = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)];
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  const system = pick(SYSTEMS);
  const cpu = pick(CPUS);
  const os = pick(OSES);
  const uuid = `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(r() * 4)]}${hex(3)}-${hex(12)}`;
  const serial = Array.from({ length: 10 }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'[Math.floor(r() * 34)]).join('');
  const nicModel = pick(NICS);
  const nicCount = 1 + Math.floor(r() * 4);
  const subnet = `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
  const nics = Array.from({ length: nicCount }, (_, i) => ({
    deviceName: `enp${i + 1}s0`,
    // Locally administered MACs (02:…): they never collide with a real vendor's.
    macAddress: `02:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}`,
    mtu: 1500,
    linkState: (i === 0 || r() < 0.5 ? 'up' : 'down') as 'up' | 'down',
    speedMbps: nicModel.speed,
    pciAddress: `0000:0${i + 1}:00.0`,
    driver: nicModel.driver,
    ...(i === 0 ? { ipAddresses: [`${subnet}.${2 + Math.floor(r() * 250)}/24`] } : {}),
  }));
  const disk = pick(DISKS);
  const diskCount = 1 + Math.floor(r() * 2);
  const storages = Array.from({ length: diskCount }, (_, i) => ({
    deviceName: disk.nvme ? `nvme${i}n1` : `sd${'abcd'[i]}`,
    model: disk.model,
    ...(disk.vendor ? { vendor: disk.vendor } : {}),
    serial: `S${hex(11).toUpperCase()}`,
    capacityBytes: disk.gib * GIB,
    rotational: disk.model.startsWith('ST'),
    transport: disk.nvme ? 'nvme' : 'sata',
  }));
  const gpus =
    r() < 0.4 ? [{ deviceName: '0000:00:02.0', pciAddress: '0000:00:02.0', vendor: 'Intel Corporation', product: 'UHD Graphics 770', description: 'VGA compatible controller' }] : [];
  const usbs = Array.from({ length: Math.floor(r() * 3) }, (_, i) => ({ deviceName: `usb-001-${String(i + 2).padStart(3, '0')}`, bus: 1, address: i + 2, ...pick(USBS) }));
  return normalizeHardwareReport({
    hardware: {
      hostname,
      cpuModel: cpu.model,
      cpuArchitecture: 'x64',
      cpuSockets: cpu.sockets,
      cpuCores: cpu.cores * cpu.sockets,
      cpuThreads: cpu.cores * cpu.sockets * 2,
      memoryBytes: pick([8, 16, 32, 64, 128, 256]) * GIB,
      systemVendor: system.vendor,
      productName: pick(system.products),
      serialNumber: serial,
      uuid,
      biosVendor: system.bios,
      biosVersion: `${1 + Math.floor(r() * 3)}.${Math.floor(r() * 20)}.${Math.floor(r() * 10)}`,
      biosReleaseDate: `${String(1 + Math.floor(r() * 12)).padStart(2, '0')}/${String(1 + Math.floor(r() * 28)).padStart(2, '0')}/202${2 + Math.floor(r() * 4)}`,
      osName: os.name,
      osVersion: os.version,
      kernelVersion: os.kernel,
    },
    nics,
    storages,
    gpus,
    usbs,
  });
}

/**
 * What a simulated machine's /etc/os-release and kernel say after installing an OS profile: the
 * known distribution's own name and kernel when the profile names one (ubuntu 24.04 → Ubuntu,
 * 6.8.0-45-generic), else the profile's name and version as they are.
 * @example simOsRelease('ubuntu', '22.04') // { name: 'Ubuntu', version: '22.04', kernel: '5.15.0-119-generic' }
 */
export function simOsRelease(profileName: string | undefined, profileVersion: string | undefined): { name?: string; version?: string; kernel?: string } {
  const known = OSES.find((o) => profileName && o.name.toLowerCase().replace(/\s+/g, '-').startsWith(profileName.toLowerCase()) && o.version === profileVersion);
  return known ? { name: known.name, version: known.version, kernel: known.kernel } : { name: profileName, version: profileVersion };
}

/**
 * A simulated machine for the agent: simHardware(seed), plus `churn()` to change something the
 * way real hardware changes (a USB stick plugged in or pulled, a link going up or down).
 * @example const d = new SimDiscovery({ seed: 7 }); d.churn(); await d.scan() // differs from before
 */
export class SimDiscovery implements Discovery {
  private report: HardwareReport;
  private readonly random: () => number;

  constructor(options: SimDiscoveryOptions) {
    this.report = simHardware(options.seed, options.hostname);
    this.random = seededRandom(`${options.seed}/churn`);
  }

  async scan(): Promise<HardwareReport> {
    return structuredClone(this.report);
  }

  /**
   * The machine now runs another OS (an install or update finished): its next scan reports it, as
   * /etc/os-release would. Unknown parts stay as they were.
   */
  setOs(os: { name?: string; version?: string; kernel?: string }): void {
    const r = structuredClone(this.report);
    if (os.name) r.hardware.osName = os.name;
    if (os.version) r.hardware.osVersion = os.version;
    if (os.kernel) r.hardware.kernelVersion = os.kernel;
    this.report = normalizeHardwareReport(r);
  }

  /** The OS the machine reports now. */
  get os(): { name?: string; version?: string } {
    return { name: this.report.hardware.osName, version: this.report.hardware.osVersion };
  }

  /** Changes one thing: toggles a USB stick (usb-002-001) or flips a NIC's link. Deterministic per seed. */
  churn(): void {
    const r = structuredClone(this.report);
    if (this.random() < 0.5) {
      const i = r.usbs.findIndex((u) => u.deviceName === 'usb-002-001');
      if (i >= 0) r.usbs.splice(i, 1);
      else r.usbs.push({ deviceName: 'usb-002-001', bus: 2, address: 1, vendorId: '0781', productId: '5591', description: 'SanDisk Corp. Ultra Flair' });
    } else {
      const nic = r.nics[Math.floor(this.random() * r.nics.length)];
      nic.linkState = nic.linkState === 'up' ? 'down' : 'up';
    }
    this.report = normalizeHardwareReport(r);
  }
}
