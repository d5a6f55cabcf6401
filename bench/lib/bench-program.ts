import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { writeSection } from './benchmarks-md.ts';
import { runCleanup } from './cleanup.ts';
import { monoMs } from './clock.ts';
import { type MachineInfo, machineInfo } from './machine-info.ts';
import { machineLine } from './report.ts';
import { passed, type ResultRow } from './result-row.ts';
import { markdownTable, textTable } from './result-table.ts';

const BENCHMARKS_MD = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));

/** What one benchmark program measured, for the terminal and its BENCHMARKS.md section. */
export interface ProgramResult {
  rows: ResultRow[];
  /** Lines for the section's header list, after Date, Command and Machine ("Server: …", "Runs: …"). */
  setup: string[];
  /** "How each number is taken": one Markdown bullet each. */
  how: string[];
  /** What the table has no room for (per-run numbers), one bullet each. */
  details: string[];
}

export interface BenchProgram {
  /** `bench/access.ts`, for "Produced by". */
  file: string;
  /** The `## ` heading of its BENCHMARKS.md section. */
  section: string;
  /** The command line as typed, for the record. */
  command: string;
  writeMarkdown: boolean;
  run: (machine: MachineInfo) => Promise<ProgramResult>;
}

/**
 * Runs a benchmark program the way bench/inventory.ts does: machine info and load average, the
 * table on stdout, the section of BENCHMARKS.md when asked, and cleanup (child processes, temp
 * dirs) however it ends. Exits the process: 0, or 1 when the program failed (not when a target
 * was missed: a miss is a result).
 * @example await runBenchProgram({ file: 'bench/access.ts', section: 'Access and tools (issue 3)', command, writeMarkdown: true, run })
 */
export async function runBenchProgram(p: BenchProgram): Promise<never> {
  const startedAt = new Date();
  const t0 = monoMs();
  const sourceAtStart = sourceState();
  let failed = false;
  try {
    const machine = await machineInfo(false);
    const r = await p.run(machine);
    const seconds = (monoMs() - t0) / 1000;
    const loadEnd = loadavg()[0];
    process.stdout.write(`\n${textTable(r.rows)}\n${r.details.map((d) => `- ${d}\n`).join('')}\n`);
    const misses = r.rows.filter((row) => passed(row) === false);
    process.stdout.write(`${r.rows.filter((row) => row.target).length - misses.length} targets met, ${misses.length} missed; run took ${seconds.toFixed(0)} s; load average ${machine.loadAvg.toFixed(1)} → ${loadEnd.toFixed(1)}\n`);
    if (p.writeMarkdown) {
      const body = [
        `Produced by \`${p.file}\`; every number below is from one run of the command shown (the program writes this section).`,
        '',
        `- Date: ${startedAt.toISOString()} (run took ${Math.round(seconds)} s)`,
        `- Command: \`${p.command}\``,
        `- Machine: ${machineLine(machine, loadEnd)}`,
        `- Source: ${sourceLine(sourceAtStart, sourceState())}`,
        ...r.setup.map((l) => `- ${l}`),
        '',
        markdownTable(r.rows),
        'How each number is taken:',
        '',
        ...r.how.map((l) => `- ${l}`),
        ...(r.details.length > 0 ? ['', 'Per run:', '', ...r.details.map((l) => `- ${l}`)] : []),
      ].join('\n');
      writeSection(BENCHMARKS_MD, p.section, body);
      process.stdout.write(`wrote the "${p.section}" section of ${BENCHMARKS_MD}\n`);
    } else {
      process.stdout.write('BENCHMARKS.md left alone (a subset run; pass --md to write it)\n');
    }
  } catch (e) {
    failed = true;
    process.stderr.write(`${p.file} failed: ${(e as Error).stack ?? e}\n`);
  } finally {
    await runCleanup();
  }
  process.exit(failed ? 1 : 0);
}

/** HEAD and the uncommitted changes under src/ (others edit it while benchmarks run). */
export function sourceState(): { head: string; changed: string[] } | undefined {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    return { head: git('rev-parse', '--short', 'HEAD'), changed: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean) };
  } catch {
    return undefined;
  }
}

/** What was measured: the commit and src/ changes at the start, and whether they moved by the end. */
export function sourceLine(start: ReturnType<typeof sourceState>, end: ReturnType<typeof sourceState>): string {
  if (!start || !end) return 'unknown (no git)';
  const describe = (s: NonNullable<typeof start>) => `commit ${s.head}${s.changed.length > 0 ? ` with ${s.changed.length} uncommitted change(s) under src/` : ''}`;
  const same = start.head === end.head && start.changed.join() === end.changed.join();
  return same ? `${describe(start)} (unchanged during the run)` : `${describe(start)} at the start, ${describe(end)} at the end (child processes load src/ when they start)`;
}
