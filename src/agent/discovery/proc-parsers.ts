// Parsers for the text files discovery reads. Pure functions: text in, fields out.

export interface CpuInfo {
  model?: string;
  sockets?: number;
  cores?: number;
  threads?: number;
}

/**
 * Reads /proc/cpuinfo: threads are the `processor` blocks, sockets the distinct `physical id`s,
 * cores the distinct (physical id, core id) pairs. Where those keys are missing (ARM, some VMs)
 * it falls back to `cpu cores` per socket, then to one socket whose cores are its threads.
 * @example parseCpuInfo(text) // { model: 'Intel(R) Xeon(R) ...', sockets: 1, cores: 2, threads: 4 }
 */
export function parseCpuInfo(text: string): CpuInfo {
  const all = text.split(/\n\s*\n/).map(parseKeyValues);
  const blocks = all.filter((b) => 'processor' in b);
  if (blocks.length === 0) return {};
  // ARM kernels put Hardware and Model in a block of their own, after the processors.
  const first = (key: string) => all.find((b) => b[key])?.[key];
  const model = first('model name') ?? first('Model') ?? first('Hardware') ?? first('cpu model') ?? first('cpu');
  const threads = blocks.length;
  const socketIds = new Set(blocks.map((b) => b['physical id']).filter((v) => v !== undefined));
  const sockets = socketIds.size || 1;
  let cores: number;
  if (blocks.every((b) => b['core id'] !== undefined)) {
    cores = new Set(blocks.map((b) => `${b['physical id'] ?? 0}/${b['core id']}`)).size;
  } else if (blocks.some((b) => b['cpu cores'])) {
    const perSocket = new Map<string, number>();
    for (const b of blocks) if (b['cpu cores']) perSocket.set(b['physical id'] ?? '0', Number(b['cpu cores']));
    cores = [...perSocket.values()].reduce((a, n) => a + n, 0);
  } else {
    cores = threads;
  }
  return { ...(model ? { model } : {}), sockets, cores, threads };
}

function parseKeyValues(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * MemTotal of /proc/meminfo in bytes.
 * @example parseMemTotal('MemTotal:  16384 kB\n') // 16777216
 */
export function parseMemTotal(text: string): number | undefined {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * KEY=value lines of /etc/os-release, quotes and escapes removed.
 * @example parseOsRelease('NAME="Ubuntu"\nVERSION_ID="24.04"\n').VERSION_ID // '24.04'
 */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2].trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
    out[m[1]] = v;
  }
  return out;
}
