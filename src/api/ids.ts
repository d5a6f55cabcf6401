import { randomBytes } from 'node:crypto';

/** Random source for ids; injectable so tests can make collisions on purpose. */
export type RandomHex = () => string;

// randomBytes has a fixed cost per call; drawing 4 KiB at a time makes an id nearly free.
let pool = Buffer.alloc(0);
let offset = 0;

/** Eight lowercase hex digits from the OS's CSPRNG. */
export const randomHex8: RandomHex = () => {
  if (offset + 4 > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  offset += 4;
  return pool.toString('hex', offset - 4, offset);
};

const ID_PATTERN = /^([a-z]+)-([0-9a-f]{8})$/;

/**
 * Builds an id: kind prefix, a dash, eight lowercase hex digits.
 * @example newId('host') // 'host-0a1b2c3d'
 */
export function newId(prefix: string, random: RandomHex = randomHex8): string {
  return `${prefix}-${random()}`;
}

/** The id prefix an id carries, or undefined when the string is not shaped like an id. */
export function idPrefixOf(id: string): string | undefined {
  return ID_PATTERN.exec(id)?.[1];
}
