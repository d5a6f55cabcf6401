/** The lines around the keys eim manages in an authorized_keys file. */
export const KEYS_BEGIN = '# BEGIN eim managed keys: edited by the eim agent, keys outside this block are yours';
export const KEYS_END = '# END eim managed keys';

/**
 * An authorized_keys file with eim's block set to `keys`: the lines between the marker lines are
 * replaced (the block appended when there is none), every other line is kept as it was (keys the
 * user added by hand survive). No keys: the block and its markers go. A managed key the user also
 * has outside the block stays outside. Idempotent: editing the result again with the same keys
 * changes nothing.
 * @example editAuthorizedKeys('ssh-ed25519 AAAA… mine\n', ['ssh-ed25519 BBBB… eim']) // mine, then the block
 */
export function editAuthorizedKeys(existing: string, keys: readonly string[]): string {
  const lines = existing.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const begin = lines.indexOf(KEYS_BEGIN);
  const end = begin >= 0 ? lines.indexOf(KEYS_END, begin) : -1;
  // A begin without an end (a hand edit cut it): everything after it was ours.
  const outside = begin < 0 ? lines : [...lines.slice(0, begin), ...(end >= 0 ? lines.slice(end + 1) : [])];
  const block = keys.length > 0 ? [KEYS_BEGIN, ...keys, KEYS_END] : [];
  const at = begin < 0 ? outside.length : begin;
  const out = [...outside.slice(0, at), ...block, ...outside.slice(at)];
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

/** The keys inside eim's block of an authorized_keys file. */
export function managedKeys(text: string): string[] {
  const lines = text.split('\n');
  const begin = lines.indexOf(KEYS_BEGIN);
  if (begin < 0) return [];
  const end = lines.indexOf(KEYS_END, begin);
  return lines.slice(begin + 1, end < 0 ? undefined : end).filter((l) => l.trim() !== '');
}
