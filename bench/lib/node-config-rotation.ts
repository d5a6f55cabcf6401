import { testEd25519Key } from '../../src/testing/ssh-keys.ts';
import { type ConfigRolloutOptions, configRolloutRows } from './config-rollout.ts';
import type { ResultRow } from './result-row.ts';

export type NodeConfigRunOptions = ConfigRolloutOptions;

/**
 * Issue 14's target: a site-level SSH key rotation reaches N agents. A LocalAccount is created for
 * the hosts' site (round 1) and its key rotated (round 2, measured); the agent reports right after
 * applying. See configRolloutRows.
 */
export function nodeConfigRows(o: NodeConfigRunOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  return configRolloutRows(o, {
    tag: 'node-config',
    seed: 'nc',
    statusField: 'nodeConfig',
    counters: { events: 'nodeConfigEvents', applied: 'nodeConfigsApplied' },
    eventNoun: 'node-config',
    appliedNoun: 'node configs',
    applyShare: 20,
    place: async (post) => {
      const europe = await post('regions', { name: 'europe', spec: {} });
      const siteId = await post('sites', { name: 'paris', spec: { regionId: europe } });
      return { siteId, where: 'site paris (region europe)', ids: {} };
    },
    create: {
      say: 'a local account for site paris',
      detail: 'account created for site paris',
      act: (post, place) => post('local-accounts', { name: 'ops', spec: { username: 'ops', sshKeys: [testEd25519Key('ops@old')], sudo: 'nopasswd', target: { siteId: place.siteId } } }),
    },
    change: {
      say: "rotate the account's SSH key",
      label: 'rotate',
      act: async (admin, id) => void (await admin.json('PATCH', `/v1/projects/default/local-accounts/${id}`, { spec: { sshKeys: [testEd25519Key('ops@new')] } }, 200)),
    },
    what: 'site-level SSH key rotation',
    agentsDid: 'applied and reported it',
    changed: 'account',
    manager: 'node-config manager',
  });
}
