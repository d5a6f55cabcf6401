/**
 * Orders OS profile versions the way people read them (`sort -V`): the strings are split into runs
 * of digits and runs of other characters; digit runs compare as numbers (so 22.10 > 22.9 and
 * 22.04 = 22.4), other runs as plain strings, and a version that is a prefix of the other is older
 * (24.04 < 24.04.1). Returns < 0, 0 or > 0 like a sort comparator.
 * @example ['22.10', '22.9', '24.04.1', '24.04'].sort(compareProfileVersions) // ['22.9', '22.10', '24.04', '24.04.1']
 */
export function compareProfileVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(BigInt(x) - BigInt(y) > 0n) - Number(BigInt(x) - BigInt(y) < 0n);
      if (d !== 0) return d;
    } else if (nx !== ny) {
      return nx ? 1 : -1; // a number outranks a suffix: 2.0 > 2.rc1
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return pa.length - pb.length;
}

const parts = (v: string): string[] => v.match(/\d+|[^\d.\-_+~]+/g) ?? [];
