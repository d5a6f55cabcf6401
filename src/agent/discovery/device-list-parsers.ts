// Parsers for `lspci -mm -D` and `lsusb`: command output in, device fields out.

export interface PciDevice {
  address: string;
  className: string;
  vendor: string;
  device: string;
}

const DISPLAY_CLASSES = /^(VGA compatible controller|3D controller|Display controller)$/i;

/**
 * The display devices (VGA, 3D, Display classes) of `lspci -mm [-D]` output. Addresses without a
 * domain get `0000:`.
 * @example parseLspciGpus('00:02.0 "VGA compatible controller" "Intel Corporation" "UHD Graphics 630" -r02 "Dell" "Device 0869"')
 */
export function parseLspciGpus(text: string): PciDevice[] {
  const out: PciDevice[] = [];
  for (const line of text.split('\n')) {
    const tokens = [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? { quoted: true, v: m[1] } : { quoted: false, v: m[2] }));
    if (tokens.length < 4 || tokens[0].quoted) continue;
    const quoted = tokens.slice(1).filter((t) => t.quoted).map((t) => t.v);
    const [className, vendor, device] = quoted;
    if (!className || !DISPLAY_CLASSES.test(className)) continue;
    const address = /^[0-9a-f]{4}:/i.test(tokens[0].v) ? tokens[0].v : `0000:${tokens[0].v}`;
    out.push({ address: address.toLowerCase(), className, vendor: vendor ?? '', device: device ?? '' });
  }
  return out;
}

export interface UsbDevice {
  bus: number;
  address: number;
  vendorId: string;
  productId: string;
  description?: string;
}

/**
 * `lsusb` lines (`Bus 001 Device 002: ID 8087:0024 Intel Corp. Hub`), without the kernel's root
 * hubs (vendor 1d6b, Linux Foundation): those are not devices anyone plugged in.
 * @example parseLsusb('Bus 001 Device 003: ID 046d:c52b Logitech, Inc. Unifying Receiver')
 */
export function parseLsusb(text: string): UsbDevice[] {
  const out: UsbDevice[] = [];
  for (const line of text.split('\n')) {
    const m = /^Bus (\d+) Device (\d+): ID ([0-9a-f]{4}):([0-9a-f]{4})\s*(.*)$/i.exec(line.trim());
    if (!m || m[3].toLowerCase() === '1d6b') continue;
    const description = m[5].trim();
    out.push({ bus: Number(m[1]), address: Number(m[2]), vendorId: m[3].toLowerCase(), productId: m[4].toLowerCase(), ...(description ? { description } : {}) });
  }
  return out;
}
