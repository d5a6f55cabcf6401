import type { Resource, ResourceOf } from '../../api/index.ts';

type OperatingSystem = ResourceOf<'OperatingSystem'> & Resource;

/** Params of an `install-os` command (api/southbound.ts), from an OS profile. */
export type InstallOsParams = {
  osId: string;
  imageUrl: string;
  sha256: string;
  profileName: string;
  profileVersion: string;
  kernelCommand?: string;
};

/**
 * What the agent needs to install an OS profile.
 * @example installParams(os) // { osId: 'os-0a1b2c3d', imageUrl: 'https://…', sha256: '…', profileName: 'ubuntu', profileVersion: '22.04' }
 */
export function installParams(os: OperatingSystem): InstallOsParams {
  const s = os.spec;
  return {
    osId: os.id,
    imageUrl: s.imageUrl,
    sha256: s.sha256,
    profileName: s.profileName,
    profileVersion: s.profileVersion,
    ...(s.kernelCommand ? { kernelCommand: s.kernelCommand } : {}),
  };
}

/** "ubuntu 22.04", from a command's params. */
export function profileLabel(params: Record<string, unknown>): string {
  return [params.profileName, params.profileVersion].filter((v) => typeof v === 'string' && v !== '').join(' ') || String(params.osId ?? 'the OS');
}
