import { AgentCa } from '../server/southbound/agent-ca.ts';
import { readTlsFiles } from '../server/tls-material.ts';
import { openTestApp, type TestApp, type TestAppOptions } from './test-app.ts';
import { makeTestCa, type TestCa, writeCerts } from './test-certs.ts';
import { tempDir } from './test-stores.ts';

export interface MtlsTestApp extends TestApp {
  /** The CA of the server's certificate (what clients trust: --ca-file). */
  serverCa: TestCa;
  agentCa: AgentCa;
  /** Where the PEM files are: tls.crt, tls.key, agent-ca.crt, agent-ca.key. */
  files: Record<string, string>;
}

/**
 * An in-process server over HTTPS with mutual TLS for agents, listening on 127.0.0.1: a server
 * certificate from a test CA, and an agent CA made in the test (no openssl).
 * @example const srv = await openMtlsTestApp({ certificateTtlSeconds: 4 }); … httpsCall(`${srv.url}/healthz`, { ca: srv.serverCa.cert })
 */
export async function openMtlsTestApp(o: { certificateTtlSeconds?: number; southbound?: TestAppOptions['southbound']; dialect?: TestAppOptions['dialect'] } = {}): Promise<MtlsTestApp> {
  const tmp = tempDir('eim-mtls-');
  try {
    const serverCa = await makeTestCa('server CA');
    const agents = await makeTestCa('eim agents');
    const server = await serverCa.issue();
    const files = writeCerts(tmp.dir, { 'tls.crt': server.cert, 'tls.key': server.key, 'agent-ca.crt': agents.cert, 'agent-ca.key': agents.key });
    const agentCa = await AgentCa.read({ certFile: files['agent-ca.crt'], keyFile: files['agent-ca.key'], certificateTtlSeconds: o.certificateTtlSeconds ?? 3600 });
    const srv = await openTestApp({
      ...(o.dialect ? { dialect: o.dialect } : {}),
      app: { listener: { tls: readTlsFiles({ certFile: files['tls.crt'], keyFile: files['tls.key'] }), agentCa: agentCa.certPem } },
      southbound: { leaseCheckMs: 100, ...o.southbound, agentCa },
      listen: true,
    });
    return {
      ...srv,
      serverCa,
      agentCa,
      files,
      async close() {
        await srv.close();
        tmp.remove();
      },
    };
  } catch (e) {
    tmp.remove();
    throw e;
  }
}
