import { execFile } from 'node:child_process';
import { readdir, readFile, realpath } from 'node:fs/promises';
import os from 'node:os';

/**
 * Everything discovery reads from the machine, behind one small interface so tests can feed
 * fixture files. Reads never throw: a missing or unreadable file is `undefined` (sysfs refuses
 * some reads, e.g. `speed` of a link that is down), a missing directory is empty.
 */
export interface SystemAccess {
  readFile(path: string): Promise<string | undefined>;
  readDir(path: string): Promise<string[]>;
  /** The path with every symlink resolved; undefined when it does not exist. */
  realPath(path: string): Promise<string | undefined>;
  /** A command's stdout; undefined when it is not installed or fails. */
  exec(command: string, args: string[]): Promise<string | undefined>;
  hostname(): string;
  /** The kernel release (`uname -r`). */
  kernelRelease(): string;
  arch(): string;
  networkInterfaces(): Record<string, os.NetworkInterfaceInfo[] | undefined>;
}

/** The real machine. */
export const nodeSystemAccess: SystemAccess = {
  readFile: (path) => readFile(path, 'utf8').catch(() => undefined),
  readDir: (path) => readdir(path).catch(() => []),
  realPath: (path) => realpath(path).catch(() => undefined),
  exec: (command, args) =>
    new Promise((resolve) => {
      execFile(command, args, { timeout: 10_000, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, stdout) => resolve(err ? undefined : stdout));
    }),
  hostname: () => os.hostname(),
  kernelRelease: () => os.release(),
  arch: () => os.arch(),
  networkInterfaces: () => os.networkInterfaces(),
};
