/**
 * The packed forms of samples and rollups. A sample row holds every value of one host at one time
 * as (series id: uint32, value: float64) pairs, 12 bytes each, little-endian; a rollup row per
 * series (id: uint32, count: uint32, min, max, sum, last: float64), 40 bytes each. Series ids stay
 * below 2^32 (ids come from one sequence per database; past it, packing throws).
 * @example unpackSamples(packSamples([[7, 0.5]])) // [[7, 0.5]]
 */
export function packSamples(values: readonly (readonly [number, number])[]): Buffer {
  const buf = Buffer.allocUnsafe(values.length * 12);
  let o = 0;
  for (const [id, v] of values) {
    buf.writeUInt32LE(checkId(id), o);
    buf.writeDoubleLE(v, o + 4);
    o += 12;
  }
  return buf;
}

/** Calls `each(seriesId, value)` for every pair of a packed sample row. */
export function forEachSample(data: Uint8Array, each: (id: number, value: number) => void): void {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let o = 0; o + 12 <= buf.length; o += 12) each(buf.readUInt32LE(o), buf.readDoubleLE(o + 4));
}

export function unpackSamples(data: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  forEachSample(data, (id, v) => out.push([id, v]));
  return out;
}

/** A series' aggregate over one rollup bucket. */
export interface RollupCell {
  count: number;
  min: number;
  max: number;
  sum: number;
  last: number;
}

export function packRollup(cells: ReadonlyMap<number, RollupCell>): Buffer {
  const buf = Buffer.allocUnsafe(cells.size * 40);
  let o = 0;
  for (const [id, c] of cells) {
    buf.writeUInt32LE(checkId(id), o);
    buf.writeUInt32LE(Math.min(c.count, 0xffffffff), o + 4);
    buf.writeDoubleLE(c.min, o + 8);
    buf.writeDoubleLE(c.max, o + 16);
    buf.writeDoubleLE(c.sum, o + 24);
    buf.writeDoubleLE(c.last, o + 32);
    o += 40;
  }
  return buf;
}

export function unpackRollup(data: Uint8Array): Map<number, RollupCell> {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = new Map<number, RollupCell>();
  for (let o = 0; o + 40 <= buf.length; o += 40) {
    out.set(buf.readUInt32LE(o), { count: buf.readUInt32LE(o + 4), min: buf.readDoubleLE(o + 8), max: buf.readDoubleLE(o + 16), sum: buf.readDoubleLE(o + 24), last: buf.readDoubleLE(o + 32) });
  }
  return out;
}

function checkId(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`series id ${id} does not fit the packed sample format (uint32)`);
  return id;
}
