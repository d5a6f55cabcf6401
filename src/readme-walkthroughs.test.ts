import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { call } from './testing/http-client.ts';
import { until } from './testing/until.ts';

// Issue 11: "the README's walkthroughs run as printed on a fresh clone, in order". This takes the
// shell blocks of "Hosts, agents and the reconciliation loop" and "Walkthrough: a simulated fleet
// updating in waves" out of README.md and runs them with bash against a real `eim server`, in a
// temp dir with `eim` on PATH: terminal 2 is one bash (so `$SHA` lasts from block to block), each
// `eim sim` runs in the background as terminal 3 would, and what the README shows in `# …` lines
// is checked where it does not depend on timing (`…` stands for anything). The only rewrite is
// the port: 127.0.0.1:8080 becomes the server's own.

const REPO = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(REPO, 'README.md'), 'utf8').split('\n');

/** The README's lines under `heading`, up to the next heading of its level or above (code fences skipped). */
function section(heading: string): string[] {
  const start = README.indexOf(heading);
  assert.ok(start >= 0, `the README has "${heading}"`);
  const level = heading.indexOf(' ');
  let fenced = false;
  for (let i = start + 1; i < README.length; i++) {
    if (/^\s*```/.test(README[i])) fenced = !fenced;
    else if (!fenced && /^#+ /.test(README[i]) && README[i].indexOf(' ') <= level) return README.slice(start, i);
  }
  return README.slice(start);
}

/** The ```sh blocks in `lines`, each dedented by its fence's indentation. */
function shBlocks(lines: string[]): string[][] {
  const blocks: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```sh\s*$/.exec(lines[i]);
    if (!open) continue;
    const block: string[] = [];
    for (i++; lines[i].trim() !== '```'; i++) block.push(lines[i].slice(open[1].length));
    blocks.push(block);
  }
  return blocks;
}

/**
 * One command as printed (continuation lines and here-documents included), the `# …` lines shown
 * after it, and the indented comment lines that go on with its inline comment.
 */
interface Printed {
  text: string;
  shown: string[];
  note: string;
}

function commands(block: string[]): Printed[] {
  const out: Printed[] = [];
  for (let i = 0; i < block.length; ) {
    const line = block[i];
    if (line.startsWith('#')) {
      assert.ok(out.length > 0, `output shown before any command: ${line}`);
      out[out.length - 1].shown.push(line.replace(/^# ?/, ''));
      i++;
      continue;
    }
    if (line.trim().startsWith('#')) {
      out[out.length - 1].note += `${line.trim().replace(/^# ?/, '')}\n`;
      i++;
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const text: string[] = [];
    for (;;) {
      const l = block[i++];
      text.push(l);
      const tag = /<<-?\s*(['"]?)(\w+)\1/.exec(l)?.[2];
      if (tag) {
        while (block[i].trim() !== tag) text.push(block[i++]);
        text.push(block[i++]);
      }
      if (!/\\\s*$/.test(l) || i >= block.length) break;
    }
    out.push({ text: text.join('\n'), shown: [], note: '' });
  }
  return out;
}

/** The `…`-quoted spans of the prose (code blocks left out) that start with `prefix`, in order; a span may wrap. */
function quoted(lines: string[], prefix: string): string[] {
  let fenced = false;
  const prose = lines.filter((l) => (/^\s*```/.test(l) ? ((fenced = !fenced), false) : !fenced));
  return [...prose.join('\n').matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\s+/g, ' ')).filter((s) => s.startsWith(prefix));
}

/**
 * `line` matches `pattern`, where `…` stands for anything; with `anyNumber`, every number in the
 * pattern for any number, and a progress bar for any bar of its width.
 */
function matches(pattern: string, line: string, anyNumber = false): boolean {
  const literal = (p: string) => {
    const escaped = p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return anyNumber ? escaped.replace(/\d+/g, '\\d+').replace(/\\\[[#-]+\\\]/g, (bar) => `\\[[#-]{${bar.length - 4}}\\]`) : escaped;
  };
  return new RegExp(`^${pattern.split('…').map(literal).join('.*')}$`).test(line);
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/** What a command did in terminal 2. */
interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Terminal 2: one bash reading the commands, so shell variables last from one block to the next. */
class Terminal {
  private readonly proc: ChildProcess;
  private said = '';
  private n = 0;

  constructor(
    private readonly cwd: string,
    private readonly logDir: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.proc = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    this.proc.stdout!.on('data', (b: Buffer) => (this.said += b));
  }

  /** Runs `text` as printed (stdin is /dev/null: a command never reads the script); fails after `timeoutMs`. */
  async run(text: string, timeoutMs = 15_000): Promise<Ran> {
    const n = ++this.n;
    const out = join(this.logDir, `${n}.out`);
    const err = join(this.logDir, `${n}.err`);
    this.proc.stdin!.write(`{\n${text}\n} >${out} 2>${err} </dev/null\necho "done ${n} $?"\n`);
    const done = await until(() => new RegExp(`^done ${n} (\\d+)$`, 'm').exec(this.said), `${text}\n(ran in ${this.cwd})`, { timeoutMs, intervalMs: 50 });
    return { code: Number(done[1]), out: readFileSync(out, 'utf8'), err: readFileSync(err, 'utf8') };
  }

  kill(): void {
    killGroup(this.proc, 'SIGKILL');
  }
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    // The group is gone already.
  }
}

/** A command running in another terminal (`eim sim`): its output so far, and Ctrl-C. */
interface Background {
  output(): string;
  stop(): Promise<void>;
}

describe("the README's walkthroughs, run as printed", { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'eim-readme-'));
  const work = join(root, 'clone');
  const bin = join(root, 'bin');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: join(root, 'home'), XDG_STATE_HOME: join(root, 'state'), XDG_CONFIG_HOME: join(root, 'config'), EIM_CONFIG: join(root, 'config', 'eim.json'), NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('EIM_') && k !== 'EIM_CONFIG') delete env[k];
  delete env.COLUMNS;
  const started: ChildProcess[] = [];
  let server: ChildProcess;
  let url = '';
  let token = '';
  let terminal: Terminal;

  const api = async (path: string) => {
    const r = await call(`${url}/v1/projects/default${path}`, { token });
    assert.equal(r.status, 200, r.body);
    return r.json;
  };

  /** Starts `text` in the background, in its own process group (what Ctrl-C reaches). */
  const background = (text: string): Background => {
    const proc = spawn('bash', ['-c', text], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    started.push(proc);
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => (out += b));
    proc.stderr!.on('data', (b: Buffer) => (out += b));
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    return {
      output: () => out,
      stop: async () => {
        killGroup(proc, 'SIGINT');
        const stopped = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
        assert.ok(stopped, `Ctrl-C stops ${text}:\n${out}`);
      },
    };
  };

  /** Runs a printed command in terminal 2 and checks it ends as a command that works does. */
  const run = async (c: Printed): Promise<Ran> => {
    const text = c.text.replaceAll('127.0.0.1:8080', new URL(url).host);
    // `eim watch` never ends by itself: a user watches a while and presses Ctrl-C.
    if (/^eim watch\b/.test(text)) {
      const r = await terminal.run(`timeout -s INT 6 ${text}`);
      assert.equal(r.code, 124, `${text} runs until stopped:\n${r.out}${r.err}`);
      return r;
    }
    // `eim update status --watch` ends by itself once the rollout is done or halted.
    const r = await terminal.run(/--watch\b/.test(text) ? `timeout 60 ${text}` : text, 60_000);
    assert.equal(r.code, 0, `${text}\nexited ${r.code}:\n${r.out}${r.err}`);
    return r;
  };

  /** Each shown line that does not depend on timing is a line of `out`. */
  const assertShown = (out: string, shown: string[], anyNumber = false) => {
    for (const want of shown) assert.ok(lines(out).some((l) => matches(want, l, anyNumber)), `the README shows\n  ${want}\nthe command printed\n${out}`);
  };

  before(async () => {
    for (const d of [work, bin, join(root, 'home'), join(root, 'term')]) mkdirSync(d, { recursive: true });
    writeFileSync(join(bin, 'eim'), `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, 'bin', 'eim.js')}" "$@"\n`);
    chmodSync(join(bin, 'eim'), 0o755);
    // `npm start` in the clone, on a free port.
    server = spawn(process.execPath, [join(REPO, 'bin', 'eim.js'), 'server', '--port', '0'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    started.push(server);
    let log = '';
    server.stdout!.on('data', (b: Buffer) => (log += b));
    server.stderr!.on('data', (b: Buffer) => (log += b));
    url = (await until(() => /eim listening on (http:\/\/[^\s"]+)/.exec(log)?.[1], `eim server listening:\n${log}`, { timeoutMs: 60_000, intervalMs: 50 })) as string;
    token = readFileSync(join(work, '.eim', 'admin.token'), 'utf8').trim();
    terminal = new Terminal(work, join(root, 'term'), env);
  });

  after(async () => {
    terminal?.kill();
    for (const p of started) killGroup(p, 'SIGKILL');
    await Promise.all(started.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    rmSync(root, { recursive: true, force: true });
  });

  test('Hosts, agents and the reconciliation loop: a simulated fleet in a second terminal', async () => {
    const prose = section('## Hosts, agents and the reconciliation loop');
    const from = prose.findIndex((l) => l.startsWith('A simulated fleet in a second terminal'));
    const printed = commands(shBlocks(prose.slice(from))[0]);
    let sim: Background | undefined;
    for (const c of printed) {
      if (c.text.startsWith('npm start')) continue; // the server above
      if (c.text.startsWith('eim sim ')) {
        sim = background(c.text);
        const note = /^terminal 2: nodes (\S+ … \S+) (wait to enrol)/.exec(c.note);
        assert.ok(note, `${c.text}\n${c.note}`);
        const s = sim;
        await until(() => s.output().includes(note[2]), `eim sim says its nodes ${note[2]}`, { timeoutMs: 20_000, intervalMs: 50 }).catch((e) => assert.fail(`${e}\n${s.output()}`));
        assert.ok(sim.output().includes(note[1]), sim.output());
        continue;
      }
      if (c.text.startsWith('eim describe instance line1-00001')) {
        // line1-00001 has autoProvision: its Instance is made once its agent is connected.
        await until(async () => (await api('/instances?filter=name%20%3D%20%22line1-00001%22')).items.length === 1, 'the instance of line1-00001', { timeoutMs: 15_000, intervalMs: 200 });
      }
      const r = await run(c);
      assertShown(r.out, c.shown);
      // What it shows depends on how far line1-00001's install got before it connected: that it
      // streams without a complaint until stopped is what does not.
      if (/^eim watch\b/.test(c.text)) assert.equal(r.err, '', r.err);
    }
    assert.ok(sim, 'the block starts a simulator');
    // The next walkthrough uses terminal 2 for commands: this fleet is stopped (Ctrl-C) first.
    await sim.stop();
  });

  describe('OS updates: a simulated fleet updating in waves', () => {
    const prose = section('### Walkthrough: a simulated fleet updating in waves');
    const blocks = shBlocks(prose).map(commands);
    const [setup, register, step1, step2, step3, step4] = blocks;
    const sims = quoted(prose, 'eim sim ');
    let sim: Background;

    test('the walkthrough has its six blocks and two simulator commands', () => {
      assert.equal(blocks.length, 6, prose.join('\n'));
      assert.equal(sims.length, 2, sims.join('\n'));
    });

    test('set-up: profiles, region and site; 30 nodes registered on the site, auto-provisioned until 30 instances run', async () => {
      for (const c of setup) await run(c);
      sim = background(sims[0]);
      await until(() => sim.output().includes('wait to enrol'), 'eim sim writes the manifest', { timeoutMs: 20_000, intervalMs: 50 }).catch((e) => assert.fail(`${e}\n${sim.output()}`));
      assert.match(sim.output(), /eim apply -f sim-hosts\.yaml/);
      for (const c of register) await run(c);
      await until(
        async () => (await api('/instances?filter=name%20%3D%20%22berlin-*%22%20AND%20status.currentState%20%3D%20%22running%22&pageSize=100')).items.length === 30,
        '30 berlin instances running',
        { timeoutMs: 40_000, intervalMs: 250 },
      ).catch((e) => assert.fail(`${e}\n${sim.output()}`));
    });

    test('1. a maintenance window for the site and an update policy', async () => {
      for (const c of step1) assertShown((await run(c)).out, c.shown);
    });

    test('2. the dry run, then attaching the policy to the 30 instances', async () => {
      for (const c of step2) assertShown((await run(c)).out, c.shown);
    });

    test('3. the rollout in waves of at most 5, to done: 30/30 up to date', async () => {
      for (const c of step3) {
        const r = await run(c);
        if (c.text.startsWith('eim get os-update-runs')) {
          const rows = lines(r.out).filter((l) => / berlin-\d{5} /.test(l));
          assert.equal(rows.length, 30, r.out);
          for (const row of rows) assert.match(row, / to-24-04 +done +updated to ubuntu 24\.04 /);
        }
        if (c.text.startsWith('eim describe instance berlin-00003')) {
          const comment = c.text.slice(c.text.indexOf('#') + 1).trim();
          assert.ok(r.out.replace(/ +/g, ' ').includes(comment), `the README says\n  ${comment}\ndescribe printed\n${r.out}`);
        }
        if (!/--watch\b/.test(c.text)) {
          assertShown(r.out, c.shown);
          continue;
        }
        // The lines between its first and last show the waves as they happen: the last two are stable.
        const out = lines(r.out);
        assert.deepEqual(out.slice(-2), c.shown.slice(-2), r.out);
        for (const l of out) {
          const peak = /\(peak (\d+) of max 5\)/.exec(l);
          if (peak) assert.ok(Number(peak[1]) <= 5, l);
        }
      }
    });

    test('4. a failing wave halts the rollout; the abort dry run reports who is left as they are', async () => {
      await sim.stop();
      sim = background(sims[1]);
      const says = quoted(prose, `all 30 nodes are registered`)[0];
      assert.ok(says, 'step 4 says what the restarted simulator prints');
      await until(() => sim.output().includes(says), `eim sim says "${says}"`, { timeoutMs: 20_000, intervalMs: 50 }).catch((e) => assert.fail(`${e}\n${sim.output()}`));
      for (const c of step4) {
        const r = await run(c);
        // How many fail before the halt, and which, is chance: every number in these lines is "some number".
        const shown = c.shown.map((l) => l.replace(/^e\.g\. /, ''));
        assertShown(r.out, shown, true);
        if (/--watch\b/.test(c.text)) {
          const halted = /failed (\d+) \(max 3\)  HALTED$/.exec(lines(r.out).at(-2) ?? '');
          assert.ok(halted, `the rollout halts:\n${r.out}`);
          assert.ok(Number(halted[1]) >= 3 && Number(halted[1]) <= 3 + 5 - 1, r.out);
        }
      }
    });
  });
});
