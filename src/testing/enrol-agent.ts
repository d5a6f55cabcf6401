import assert from 'node:assert/strict';
import type { TestApp } from './test-app.ts';

/**
 * Registers a host by serial number (named after it, desired onboarded) in `default`, makes an
 * enrollment token and enrols an agent as that machine: the host, and the agent token it got.
 * @example const { host, token } = await enrolAgent(srv, 'SN-1')
 */
export async function enrolAgent(srv: Pick<TestApp, 'call' | 'admin'>, serial: string): Promise<{ host: { id: string } & Record<string, unknown>; hostId: string; token: string }> {
  const host = (await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: serial.toLowerCase(), spec: { serialNumber: serial, desiredState: 'onboarded' } })).json;
  const et = (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment' })).json.token as string;
  const r = await srv.call('POST', '/southbound/v1/enroll', et, { serialNumber: serial, hostname: serial.toLowerCase() });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return { host, hostId: r.json.hostId as string, token: r.json.token as string };
}
