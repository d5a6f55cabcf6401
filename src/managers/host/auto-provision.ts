import { type Inventory, isEimError, type Resource, type ResourceOf } from '../../api/index.ts';
import type { InformerIndex } from '../shared/informer-index.ts';

type Host = ResourceOf<'Host'> & Resource;
type Instance = ResourceOf<'Instance'> & Resource;
export type OperatingSystem = ResourceOf<'OperatingSystem'> & Resource;

/** Label of the project's default OS profile: `default = "true"`. */
export const DEFAULT_OS_LABEL = 'default';
/** Label on instances the host manager created. */
export const AUTO_PROVISIONED_LABEL = 'auto-provisioned';

/** Why no default OS profile could be chosen: a message for the host's onboardingStatus. */
export class NoDefaultOsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoDefaultOsError';
  }
}

/**
 * `spec.autoProvision`: an onboarded host gets an Instance (named after the host) of the project's
 * default OS profile, if it has none. Level-based: a host with autoProvision keeps one instance, so
 * to remove its instance for good turn autoProvision off first.
 */
export class AutoProvisioner {
  constructor(
    private readonly inventory: Inventory,
    private readonly instancesByHost: InformerIndex<Instance>,
  ) {}

  /**
   * The OS profile the host's instance should get, or undefined when the host has an instance.
   * Throws NoDefaultOsError when the project has no single default OS profile.
   */
  async needs(host: Host): Promise<OperatingSystem | undefined> {
    if (this.instancesByHost.idsOf(host.id).length > 0) return undefined;
    // The cache may not show an instance we created a moment ago: the store has the last word.
    const existing = await this.inventory.list(host.project, 'Instance', { filter: `spec.hostId = "${host.id}"`, pageSize: 1 });
    if (existing.items.length > 0) return undefined;
    return this.defaultOs(host.project);
  }

  /** Creates the host's instance of `os`, named after the host. */
  async create(host: Host, os: OperatingSystem): Promise<Instance> {
    const input = { labels: { [AUTO_PROVISIONED_LABEL]: 'true' }, spec: { hostId: host.id, osId: os.id, desiredState: 'running' } };
    try {
      return await this.inventory.create(host.project, 'Instance', { name: host.name, ...input });
    } catch (e) {
      if (!(isEimError(e) && e.code === 'conflict')) throw e;
      // Another host's instance has that name: keep the host's name recognisable, made unique by its id.
      const suffix = `-${host.id.slice(host.id.indexOf('-') + 1)}`;
      return await this.inventory.create(host.project, 'Instance', { name: `${host.name.slice(0, 128 - suffix.length)}${suffix}`, ...input });
    }
  }

  /** The OS profile labelled default=true, else the project's only one. */
  async defaultOs(project: string): Promise<OperatingSystem> {
    const labelled = await this.inventory.list(project, 'OperatingSystem', { filter: `labels.${DEFAULT_OS_LABEL} = "true"`, pageSize: 5 });
    // Counted by totalSize: a page of large profiles may hold fewer than asked.
    if (labelled.totalSize === 1) return labelled.items[0];
    if (labelled.totalSize > 1) {
      const ids = labelled.items.map((o) => `${o.name} (${o.id})`).join(', ');
      throw new NoDefaultOsError(`${labelled.totalSize} OS profiles of project "${project}" are labelled ${DEFAULT_OS_LABEL}=true: ${ids}${labelled.totalSize > 5 ? ', …' : ''}; keep the label on one`);
    }
    const all = await this.inventory.list(project, 'OperatingSystem', { pageSize: 1 });
    if (all.totalSize === 1) return all.items[0];
    if (all.totalSize === 0) throw new NoDefaultOsError(`project "${project}" has no OS profile; create one (kind OperatingSystem) and label it ${DEFAULT_OS_LABEL}=true`);
    throw new NoDefaultOsError(`project "${project}" has ${all.totalSize} OS profiles and none is labelled ${DEFAULT_OS_LABEL}=true; label one OS profile ${DEFAULT_OS_LABEL}=true (eim patch operating-system NAME --label ${DEFAULT_OS_LABEL}=true), or create the host's instance yourself`);
  }
}

