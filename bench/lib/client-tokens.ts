import { HttpClient } from './http-client.ts';

/**
 * Tokens of their own for the benchmark's clients, issued with the admin token: the server limits
 * requests (1,000/s) and open watches (64) per token, and 16 clients or 100 watchers stand for that
 * many API users, not one. `perToken` clients share each token. Falls back to the admin token on a
 * server without the token routes.
 * @example const tokens = await clientTokens(url, adminToken, 'viewer', 100, 32) // tokens.length === 100
 */
export async function clientTokens(url: string, adminToken: string, role: 'viewer' | 'editor', clients: number, perToken = 1): Promise<string[]> {
  const admin = new HttpClient(url, adminToken, 1);
  try {
    const issued: string[] = [];
    for (let i = 0; i < Math.ceil(clients / perToken); i++) {
      const r = await admin.send('POST', '/v1/projects/default/tokens', { role, subject: `bench-${role}-${i}`, ttlSeconds: 86400 });
      if (r.status === 404) return Array.from({ length: clients }, () => adminToken);
      if (r.status !== 201) throw new Error(`issuing a ${role} token: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      issued.push((JSON.parse(r.body) as { token: string }).token);
    }
    return Array.from({ length: clients }, (_, c) => issued[Math.floor(c / perToken)]);
  } finally {
    admin.close();
  }
}
