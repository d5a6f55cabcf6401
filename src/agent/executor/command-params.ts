import { type AgentCommand, PACKAGE_NAME_PATTERN } from '../../api/index.ts';

const PACKAGE_NAME = new RegExp(PACKAGE_NAME_PATTERN);

/**
 * A command's params do not say what the command needs (a missing imageUrl, a sha256 that is not
 * 64 hex digits). Executors turn it into a `failed`, not recoverable, result: the same command
 * would fail the same way; the manager or the OS profile must change.
 */
export class InvalidParamsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidParamsError';
  }
}

export interface InstallOsParams {
  osId?: string;
  imageUrl: string;
  sha256: string;
  profileName?: string;
  profileVersion?: string;
  kernelCommand?: string;
}

export type PowerTarget = 'on' | 'off' | 'reset' | 'power-cycle';

export interface ApplyConfigParams {
  version: string;
  config: unknown;
}

export interface UpdateOsParams {
  packages?: string[];
  /** An immutable OS updates by image, like install-os. */
  image?: InstallOsParams;
  /** The kernel command line to boot with after the update (without an image: set on the running OS). */
  kernelCommand?: string;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** install-os: `{ osId?, imageUrl (http/https), sha256 (64 hex), profileName?, profileVersion?, kernelCommand? }`. */
export function installOsParams(c: AgentCommand): InstallOsParams {
  const p = c.params;
  const imageUrl = str(p.imageUrl);
  if (!imageUrl || !/^https?:\/\//.test(imageUrl)) throw new InvalidParamsError(`${c.type} needs params.imageUrl, an http(s) URL (got ${JSON.stringify(p.imageUrl)})`);
  const sha256 = str(p.sha256)?.toLowerCase();
  if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new InvalidParamsError(`${c.type} needs params.sha256, 64 hex digits (got ${JSON.stringify(p.sha256)})`);
  return {
    imageUrl,
    sha256,
    ...(str(p.osId) ? { osId: str(p.osId) } : {}),
    ...(str(p.profileName) ? { profileName: str(p.profileName) } : {}),
    ...(str(p.profileVersion) ? { profileVersion: str(p.profileVersion) } : {}),
    ...(str(p.kernelCommand) ? { kernelCommand: str(p.kernelCommand) } : {}),
  };
}

/** power: `{ state: on | off | reset | power-cycle }`. */
export function powerParams(c: AgentCommand): PowerTarget {
  const s = c.params.state;
  if (s === 'on' || s === 'off' || s === 'reset' || s === 'power-cycle') return s;
  throw new InvalidParamsError(`power needs params.state: on, off, reset or power-cycle (got ${JSON.stringify(s)})`);
}

/** apply-config: `{ version (string or number), config }`. */
export function applyConfigParams(c: AgentCommand): ApplyConfigParams {
  const v = c.params.version;
  if (!(typeof v === 'string' && v !== '') && !(typeof v === 'number' && Number.isFinite(v))) {
    throw new InvalidParamsError(`apply-config needs params.version, a string or number (got ${JSON.stringify(v)})`);
  }
  if (!('config' in c.params)) throw new InvalidParamsError('apply-config needs params.config');
  return { version: String(v), config: c.params.config };
}

/**
 * update-os: `{ packages?: string[], kernelCommand?: string }`, and for a new OS profile its image as
 * install-os takes it (`osId`, `imageUrl`, `sha256`, `profileName`, `profileVersion`).
 */
export function updateOsParams(c: AgentCommand): UpdateOsParams {
  const { packages, kernelCommand } = c.params;
  // Checked again here, whatever the server let through: a name starting with "-" would be an
  // option to apt-get or dnf (-oDPkg::Pre-Invoke::=reboot). The executors also end options with --.
  if (packages !== undefined && !(Array.isArray(packages) && packages.length <= 256 && packages.every((x) => typeof x === 'string' && PACKAGE_NAME.test(x)))) {
    throw new InvalidParamsError(`update-os params.packages must be package names (a letter or digit first, then letters, digits and . _ + -, optionally :arch and =version): got ${JSON.stringify(packages).slice(0, 300)}`);
  }
  if (kernelCommand !== undefined && (typeof kernelCommand !== 'string' || /[\n\r\0]/.test(kernelCommand))) {
    throw new InvalidParamsError(`update-os params.kernelCommand must be one line of text (got ${JSON.stringify(kernelCommand).slice(0, 200)})`);
  }
  return {
    ...(packages ? { packages: packages as string[] } : {}),
    ...(c.params.imageUrl !== undefined ? { image: installOsParams(c) } : {}),
    ...(str(kernelCommand) ? { kernelCommand: str(kernelCommand) } : {}),
  };
}
