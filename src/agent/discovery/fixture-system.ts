import type os from 'node:os';
import path from 'node:path';
import type { SystemAccess } from './system-access.ts';

export interface FixtureSystemSpec {
  /** Absolute path → contents. */
  files: Record<string, string>;
  /** Absolute path → symlink target (absolute, or relative to the link's folder, as in sysfs). */
  links?: Record<string, string>;
  /** `command arg arg` → stdout; a command not listed is "not installed". */
  commands?: Record<string, string>;
  hostname?: string;
  kernelRelease?: string;
  arch?: string;
  interfaces?: Record<string, os.NetworkInterfaceInfo[]>;
}

/**
 * A SystemAccess over in-memory files and symlinks, for discovery tests.
 * @example fixtureSystem({ files: { '/proc/meminfo': 'MemTotal: 1024 kB\n' } })
 */
export function fixtureSystem(spec: FixtureSystemSpec): SystemAccess {
  const links = spec.links ?? {};
  const resolve = (p: string): string => {
    // Resolve symlinks component by component, as the kernel does.
    for (let hops = 0; hops < 40; hops++) {
      const parts = p.split('/').filter(Boolean);
      let changed = false;
      for (let i = 1; i <= parts.length; i++) {
        const prefix = '/' + parts.slice(0, i).join('/');
        const target = links[prefix];
        if (target !== undefined) {
          const base = target.startsWith('/') ? target : path.posix.join(path.posix.dirname(prefix), target);
          p = path.posix.normalize([base, ...parts.slice(i)].join('/'));
          changed = true;
          break;
        }
      }
      if (!changed) return p;
    }
    throw new Error(`fixture: symlink loop at ${p}`);
  };
  const exists = (p: string) => p in spec.files || Object.keys(spec.files).some((f) => f.startsWith(p + '/')) || Object.keys(links).some((l) => l === p || l.startsWith(p + '/'));
  return {
    readFile: async (p) => spec.files[resolve(p)],
    readDir: async (p) => {
      const dir = resolve(p).replace(/\/+$/, '') + '/';
      const names = new Set<string>();
      for (const key of [...Object.keys(spec.files), ...Object.keys(links)]) if (key.startsWith(dir)) names.add(key.slice(dir.length).split('/')[0]);
      return [...names].sort();
    },
    realPath: async (p) => {
      const r = resolve(p);
      return exists(r) ? r : undefined;
    },
    exec: async (command, args) => spec.commands?.[[command, ...args].join(' ')],
    hostname: () => spec.hostname ?? 'fixture-host',
    kernelRelease: () => spec.kernelRelease ?? '6.1.0-fixture',
    arch: () => spec.arch ?? 'x64',
    networkInterfaces: () => spec.interfaces ?? {},
  };
}
