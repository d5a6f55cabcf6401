import { useEffect, useMemo } from 'preact/hooks';
import type { Resource } from '../api/resource.ts';
import { useFleet } from '../fleet.ts';
import { bytes } from '../format.ts';
import { useStoreVersion } from '../hooks.ts';
import { LiveSync } from '../state/live-sync.ts';
import { ResourceStore } from '../state/resource-store.ts';

const DEVICE_KINDS = [
  { path: 'host-nics', kind: 'HostNic' },
  { path: 'host-storages', kind: 'HostStorage' },
  { path: 'host-gpus', kind: 'HostGpu' },
  { path: 'host-usbs', kind: 'HostUsb' },
] as const;

type Col = [string, (r: Record<string, any>) => string];

const TABLES: { kind: string; title: string; cols: Col[] }[] = [
  {
    kind: 'HostNic',
    title: 'Network interfaces',
    cols: [
      ['Device', (s) => s.deviceName],
      ['MAC', (s) => s.macAddress ?? '—'],
      ['Link', (s) => s.linkState ?? '—'],
      ['Speed', (s) => (s.speedMbps ? `${s.speedMbps} Mb/s` : '—')],
      ['MTU', (s) => String(s.mtu ?? '—')],
      ['Addresses', (s) => (s.ipAddresses ?? []).join(', ') || '—'],
    ],
  },
  {
    kind: 'HostStorage',
    title: 'Disks',
    cols: [
      ['Device', (s) => s.deviceName],
      ['Model', (s) => s.model ?? '—'],
      ['Capacity', (s) => bytes(s.capacityBytes)],
      ['Type', (s) => (s.rotational === undefined ? '—' : s.rotational ? 'HDD' : 'SSD')],
      ['Serial', (s) => s.serial ?? '—'],
    ],
  },
  {
    kind: 'HostGpu',
    title: 'GPUs',
    cols: [
      ['Device', (s) => s.deviceName],
      ['Vendor', (s) => s.vendor ?? '—'],
      ['Product', (s) => s.product ?? '—'],
      ['PCI', (s) => s.pciAddress ?? '—'],
    ],
  },
  {
    kind: 'HostUsb',
    title: 'USB devices',
    cols: [
      ['Device', (s) => s.deviceName],
      ['Vendor:product', (s) => `${s.vendorId ?? '?'}:${s.productId ?? '?'}`],
      ['Class', (s) => s.deviceClass ?? '—'],
      ['Description', (s) => s.description ?? '—'],
    ],
  },
];

/** The host's discovered devices, listed and kept live by a stream of their own (only this host's are held). */
export function DevicesSection({ hostId }: { hostId: string }) {
  const { api, project } = useFleet();
  const { store, sync } = useMemo(() => {
    const store = new ResourceStore((r) => r.status?.hostId === hostId);
    const filter = `status.hostId = "${hostId}"`;
    const sync = new LiveSync({ api, project, store, kinds: DEVICE_KINDS.map((k) => ({ ...k, filter })) });
    sync.start();
    return { store, sync };
  }, [api, project, hostId]);
  useEffect(() => () => void sync.stop(), [sync]);
  useStoreVersion(store);
  return (
    <section aria-labelledby="dev-title">
      <h2 id="dev-title">Devices</h2>
      {sync.status.lists === 0 && <p class="muted">Loading…</p>}
      <div class="columns wide">
        {TABLES.map((t) => (
          <DeviceTable key={t.kind} title={t.title} cols={t.cols} items={[...store.all(t.kind).values()].sort((a, b) => a.status.deviceName.localeCompare(b.status.deviceName))} />
        ))}
      </div>
    </section>
  );
}

function DeviceTable({ title, cols, items }: { title: string; cols: Col[]; items: Resource[] }) {
  return (
    <div class="scroll-x">
    <table class="grid" data-testid={title}>
      <caption>
        {title} ({items.length})
      </caption>
      <thead>
        <tr>
          {cols.map(([h]) => (
            <th key={h} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {items.length === 0 ? (
          <tr>
            <td colSpan={cols.length} class="muted">
              none
            </td>
          </tr>
        ) : (
          items.map((d) => (
            <tr key={d.id}>
              {cols.map(([h, f]) => (
                <td key={h}>{f(d.status)}</td>
              ))}
            </tr>
          ))
        )}
      </tbody>
    </table>
    </div>
  );
}
