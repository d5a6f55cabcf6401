import { parseDocument } from 'yaml';

/**
 * Top-level keys of a `#cloud-config` document that cloud-init's modules read (cloud-init 23–24).
 * A key outside this list is almost always a typo (`run_cmd`), which cloud-init ignores silently.
 */
export const CLOUD_CONFIG_KEYS = [
  'apk_repos', 'apt', 'apt_pipelining', 'apt_reboot_if_required', 'apt_update', 'apt_upgrade', 'bootcmd', 'byobu_by_default', 'ca_certs', 'ca-certs', 'chef',
  'chpasswd', 'cloud_config_modules', 'cloud_final_modules', 'cloud_init_modules', 'datasource', 'device_aliases', 'disable_ec2_metadata', 'disable_root',
  'disk_setup', 'fs_setup', 'fan', 'final_message', 'growpart', 'groups', 'hostname', 'fqdn', 'prefer_fqdn_over_hostname', 'keyboard', 'landscape', 'locale',
  'locale_configfile', 'lxd', 'manage_etc_hosts', 'manage_resolv_conf', 'mcollective', 'mounts', 'mount_default_fields', 'swap', 'ntp', 'output', 'package_reboot_if_required',
  'package_update', 'package_upgrade', 'packages', 'phone_home', 'power_state', 'preserve_hostname', 'puppet', 'random_seed', 'reporting', 'resize_rootfs', 'resolv_conf',
  'rh_subscription', 'rsyslog', 'runcmd', 'salt_minion', 'snap', 'spacewalk', 'ssh', 'ssh_authorized_keys', 'ssh_deletekeys', 'ssh_genkeytypes', 'ssh_keys',
  'ssh_pwauth', 'ssh_quiet_keygen', 'ssh_publish_hostkeys', 'ssh_import_id', 'ssh_fp_console_blacklist', 'ssh_key_console_blacklist', 'system_info', 'timezone',
  'ubuntu_advantage', 'ubuntu_pro', 'updates', 'user', 'users', 'vendor_data', 'wireguard', 'write_files', 'yum_repos', 'yum_repo_dir', 'zypper', 'merge_how', 'merge_type',
] as const;

const KNOWN = new Set<string>(CLOUD_CONFIG_KEYS);

/**
 * What is wrong with a cloud-init document, or undefined when it is a valid `#cloud-config`: the
 * first line is `#cloud-config`, the rest parses as one YAML document (no aliases beyond 100, the
 * yaml package's own bound against alias bombs), its top level is a mapping (or empty), and every
 * top-level key is one cloud-init reads (CLOUD_CONFIG_KEYS).
 * @example cloudConfigProblem('#cloud-config\nruncmd:\n  - echo hi\n') // undefined
 */
export function cloudConfigProblem(text: string): string | undefined {
  const first = text.split('\n', 1)[0].trimEnd();
  if (first !== '#cloud-config') return `the first line must be "#cloud-config" (cloud-init ignores the document otherwise); it is ${JSON.stringify(first.slice(0, 40))}`;
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    return `is not valid YAML${line ? ` (line ${line})` : ''}: ${e.message.split('\n')[0]}`;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return `is not valid YAML: ${(e as Error).message.split('\n')[0]}`;
  }
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) return 'must be a YAML mapping of cloud-init keys (write_files, runcmd, packages, users, ntp, …)';
  const unknown = Object.keys(value).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) return `has top-level key${unknown.length > 1 ? 's' : ''} cloud-init does not know: ${unknown.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40))).join(', ')} (known keys include write_files, runcmd, packages, users, ntp)`;
  return undefined;
}

/** The top-level keys of a valid `#cloud-config` document (what the agent runs per key). */
export function cloudConfigKeys(text: string): string[] {
  const value = parseDocument(text).toJS({ maxAliasCount: 100 }) as unknown;
  return value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
}
