// The access-and-tools benchmark (issue 3): token verification in-process, `eim get hosts` as a
// whole process with 10,000 hosts, and what the per-token rate limiter costs in write throughput,
// each against a baseline measured in the same run. `npm run bench:access -- --help` lists the flags.
import { compileAccessOptions } from './lib/access-options.ts';
import { cliGetHostsRows } from './lib/cli-get-hosts.ts';
import { rateLimitCostRows } from './lib/rate-limit-cost.ts';
import { runScenarioProgram } from './lib/scenario-program.ts';
import { tokenVerifyRows } from './lib/token-verify-rate.ts';

const o = compileAccessOptions(process.argv.slice(2));

await runScenarioProgram(o, {
  file: 'bench/access.ts',
  section: 'Access and tools (issue 3)',
  setup: [
    `Scenarios: ${o.scenarios.join(', ')}; SQLite stores (synchronous=FULL) in temp dirs`,
    "Servers: `startServer({ dataDir, port: 0, logLevel: 'warn', managers: 'none' })` in child processes (`bench/lib/server-child.ts`): the API and the Inventory, no resource managers",
  ],
  scenarios: {
    tokens: {
      run: () => tokenVerifyRows(o.tokens),
      how: `**Token verification**: \`TokenService.open({ auth: store.auth })\` over \`openTestStore('sqlite')\` in the bench process issues ${(2 * o.tokens + 1000).toLocaleString('en-US')} viewer tokens (EdDSA JWTs). "First verification" is \`verify()\` of a token never verified before: decode, the Ed25519 signature check (WebCrypto, on libuv's thread pool) and grant parsing, then the token goes into the cache; one set of ${o.tokens.toLocaleString('en-US')} tokens is verified 1 at a time, another 16 in flight (as concurrent requests would). "Repeated" verifies the first set again: cache hits (a map lookup and the revocation check). The baseline is jose's \`jwtVerify\` with the same public key on the same tokens, just before. 1,000 other tokens warm both paths first.`,
    },
    cli: {
      run: () => cliGetHostsRows({ hosts: o.hosts, runs: o.cliRuns, cpuProfDir: o.cpuProfDir }),
      how: `**eim get hosts**: \`npm run build\` first, so \`bin/eim.js\` runs the esbuild bundle in dist/ (checked before every run: dist/BUILT newer than every file under src/, as bin/eim.js decides). ${o.hosts.toLocaleString('en-US')} Hosts are created in-process (256 concurrent) in a fresh SQLite store, then a server child opens it. Each run spawns \`node bin/eim.js get hosts\` from the bench process with EIM_SERVER, EIM_TOKEN (the admin token) and EIM_CONFIG (a temp file holding \`{}\`), stdout a pipe (no TTY); times are spawn → first complete line on stdout, and spawn → exit. The three commands run interleaved (\`node -e ""\`, \`eim --version\`, \`eim get hosts\`), ${o.cliRuns} times each after one untimed round; medians.`,
    },
    ratelimit: {
      run: () => rateLimitCostRows({ runs: o.rateRuns, warmupMs: o.warmupMs, durationMs: o.durationMs, cpuProfDir: o.cpuProfDir }),
      how: `**Rate limiting cost**: two server children, one with the default limit (1,000 requests/s per token, burst 2,000) and one with \`rateLimitRps: 0\`; 16 closed-loop clients, each with an editor token of its own, create Hosts over HTTP (one keep-alive agent, 16 sockets) for ${o.durationMs / 1000} s after ${o.warmupMs / 1000} s of warm-up. One untimed run on each server first (JIT warm-up), then ${o.rateRuns} runs per server, alternating on, off, off, on, …; medians. The target is relative: with the limiter on, at least 95 % of the rate with it off in the same run (medians). On a shared machine identical runs differ by more than 5 %, so the notes add two steadier views: the median ratio of adjacent on/off runs, and server CPU per create (\`/proc\` CPU time over writes; other work slows a run without making a write cost the server more). The limiter's own cost is also timed in-process (\`RateLimiter.take\` for 16 callers in turn, 2,000,000 calls).`,
    },
  },
});
