import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { importJWK, type JWK, jwtVerify } from 'jose';
import { TokenService } from '../../src/server/auth/token-service.ts';
import { openTestStore } from '../../src/testing/test-stores.ts';
import { monoMs } from './clock.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { median } from './row-notes.ts';

const TARGET = 20_000;
const WARMUP_TOKENS = 1000;

/** Verifications per second of `verify` over `tokens`, `inFlight` at a time. */
async function rate(tokens: string[], inFlight: number, verify: (t: string) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = monoMs();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < tokens.length; i = next++) await verify(tokens[i]);
    }),
  );
  return tokens.length / ((monoMs() - t0) / 1000);
}

/**
 * Token verification in-process: `TokenService.verify` on tokens it issued (SQLite test store),
 * first verification (the real EdDSA check) and repeated (cache hits), against jose's `jwtVerify`
 * with the same public key on the same tokens. Each distinct-token rate runs on a set of tokens
 * never verified before, 1 and 16 in flight (WebCrypto verifies on libuv's thread pool).
 * @example const rows = await tokenVerifyRows(20_000)
 */
export async function tokenVerifyRows(count: number): Promise<{ rows: ResultRow[]; details: string[] }> {
  // TokenService clears its cache at 50,000 entries: past that, the "repeated" pass would not hit it.
  if (2 * count + WARMUP_TOKENS > 50_000) throw new Error(`--tokens ${count} is too many: at most 24,500, so that every token stays in TokenService's cache`);
  const ts = await openTestStore('sqlite');
  const svc = await TokenService.open({ auth: ts.store.auth });
  try {
    process.stderr.write(`[tokens] issuing ${(2 * count + WARMUP_TOKENS).toLocaleString('en-US')} tokens\n`);
    const issue = async (n: number, tag: string) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push((await svc.issue({ subject: `bench-${tag}-${i}`, grants: [{ project: 'default', role: 'viewer' }], ttlSeconds: 86400 })).token);
      return out;
    };
    const t0 = monoMs();
    const warm = await issue(WARMUP_TOKENS, 'warm');
    const serial = await issue(count, 'serial');
    const parallel = await issue(count, 'parallel');
    const issueRate = (2 * count + WARMUP_TOKENS) / ((monoMs() - t0) / 1000);

    const [keyRow] = await ts.store.auth.signingKeys();
    const publicKey = await importJWK(JSON.parse(keyRow.publicJwk) as JWK, 'EdDSA');
    const jose = (t: string) => jwtVerify(t, publicKey, { issuer: 'eim', algorithms: ['EdDSA'] });
    const service = (t: string) => svc.verify(t);
    // The floor under both: one synchronous Ed25519 check (node:crypto, no WebCrypto, no thread
    // pool) plus decoding the claims, which is all a verification has to do.
    const keyObject = createPublicKey({ key: JSON.parse(keyRow.publicJwk) as JWK, format: 'jwk' } as Parameters<typeof createPublicKey>[0]);
    const raw = async (t: string) => {
      const dot = t.lastIndexOf('.');
      if (!cryptoVerify(null, Buffer.from(t.slice(0, dot)), keyObject, Buffer.from(t.slice(dot + 1), 'base64url'))) throw new Error('bad signature');
      return JSON.parse(Buffer.from(t.slice(t.indexOf('.') + 1, dot), 'base64url').toString('utf8'));
    };

    process.stderr.write('[tokens] verifying\n');
    // Both paths compiled and warm before anything counts; these tokens are cached afterwards.
    await rate(warm, 1, jose);
    await rate(warm, 1, service);
    await rate(warm, 1, raw);
    const rawSerial = await rate(serial, 1, raw);
    const joseSerial = await rate(serial, 1, jose);
    const firstSerial = await rate(serial, 1, service);
    const joseParallel = await rate(parallel, 16, jose);
    const firstParallel = await rate(parallel, 16, service);
    const cached: number[] = [];
    for (let pass = 0; pass < 3; pass++) cached.push(await rate(serial, 1, service));
    const cachedMid = median(cached);

    const n = count.toLocaleString('en-US');
    const target = { op: '>=' as const, value: TARGET, label: 'in-process' };
    const rows: ResultRow[] = [
      { metric: 'node:crypto Ed25519 verify (sync) + claims decode (floor)', dialect: 'sqlite', value: rawSerial, unit: 'verifies/s', notes: `${n} tokens, each once, 1 at a time: crypto.verify(null, …) with a KeyObject, on the main thread` },
      { metric: 'jose jwtVerify, distinct tokens, 1 at a time (baseline)', dialect: 'sqlite', value: joseSerial, unit: 'verifies/s', notes: `${n} tokens, each once; Ed25519 public key imported once` },
      {
        metric: 'TokenService.verify, first verification, 1 at a time',
        dialect: 'sqlite',
        value: firstSerial,
        unit: 'verifies/s',
        baseline: { value: joseSerial, label: 'jose alone' },
        target,
        notes: `the same ${n} tokens, each verified once: decode, EdDSA verify, grants parsed, cached`,
      },
      { metric: 'jose jwtVerify, distinct tokens, 16 in flight (baseline)', dialect: 'sqlite', value: joseParallel, unit: 'verifies/s', notes: `another ${n} tokens, each once` },
      {
        metric: 'TokenService.verify, first verification, 16 in flight',
        dialect: 'sqlite',
        value: firstParallel,
        unit: 'verifies/s',
        baseline: { value: joseParallel, label: 'jose alone' },
        target,
        notes: `the same ${n} tokens, each verified once`,
      },
      {
        metric: 'TokenService.verify, repeated (cache hits), 1 at a time',
        dialect: 'sqlite',
        value: cachedMid,
        unit: 'verifies/s',
        baseline: { value: joseSerial, label: 'jose alone, distinct tokens' },
        target,
        notes: `the ${n} tokens of the first row again; median of 3 passes: ${cached.map(fmt).join(', ')}`,
      },
    ];
    return { rows, details: [`tokens issued (sign + one SQLite insert each, synchronous=FULL): ${fmt(issueRate)}/s`] };
  } finally {
    svc.stop();
    await ts.cleanup();
  }
}
