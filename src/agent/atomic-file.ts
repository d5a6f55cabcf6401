import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes a file so that a crash or power loss leaves either the old or the new contents, never a
 * mix: a temp file in the same folder, fsync, then rename over the target. Mode 0600 by default
 * (agent.json holds the agent's token). Creates the folder (0700) when missing.
 * @example writeFileAtomic('/var/lib/eim-agent/agent.json', JSON.stringify(state))
 */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed or (if odd) the file pre-existed
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
