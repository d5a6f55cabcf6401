import { ALL_PROJECTS, type Caller, EimError, type KindDef, type Role } from '../api/index.ts';

/** What a caller may do in a project. */
export type Permission = 'read' | 'spec' | 'status' | 'system' | 'force' | 'admin';

/**
 * The one write-policy table. `spec`: names, labels and desired state of user kinds. `status`:
 * current state. `system`: create and remove discovered kinds and finish two-phase deletes
 * (managers). `force`: remove at once. Agents and enrolment tokens have nothing under /v1.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  viewer: ['read'],
  editor: ['read', 'spec'],
  admin: ['read', 'spec', 'force', 'admin'],
  manager: ['read', 'status', 'system', 'force'],
  agent: [],
  enrollment: [],
};

/** The permissions a caller holds in a project (union over its grants). */
export function permissionsIn(caller: Caller, project: string): Set<Permission> {
  const out = new Set<Permission>();
  for (const g of caller.grants) {
    if (g.project === project || g.project === ALL_PROJECTS) for (const p of ROLE_PERMISSIONS[g.role]) out.add(p);
  }
  return out;
}

/**
 * Throws unless the caller holds `perm` in `project`. A caller that cannot even read the project
 * gets `not_found`, so another tenant's projects and resources look absent.
 */
export function requirePermission(caller: Caller, project: string, perm: Permission, what: string): void {
  const perms = permissionsIn(caller, project);
  if (perms.has(perm)) return;
  if (!perms.has('read') && !(project === ALL_PROJECTS)) throw new EimError('not_found', `project "${project}" not found`);
  throw new EimError('permission_denied', `${caller.subject} may not ${what} in ${project === ALL_PROJECTS ? 'all projects' : `project "${project}"`}; ask an admin for a token with the right role`);
}

/** The permission that writing a kind's user fields (name, labels, spec) needs. */
export const userFieldsPermission = (def: KindDef): Permission => (def.origin === 'manager' ? 'system' : 'spec');
