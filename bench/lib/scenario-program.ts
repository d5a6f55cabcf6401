import { type ProgramResult, runBenchProgram } from './bench-program.ts';
import type { ResultRow } from './result-row.ts';

/** One scenario of a program: its run, and the "How each number is taken" bullet for it. */
export interface Scenario {
  run: () => Promise<{ rows: ResultRow[]; details: string[] }>;
  how: string;
}

/** What a program with scenarios reads from its compiled options. */
export interface ScenarioProgramOptions<S extends string> {
  scenarios: readonly S[];
  command: string;
  writeMarkdown: boolean;
}

export interface ScenarioProgram<S extends string> {
  /** `bench/access.ts`, for "Produced by". */
  file: string;
  /** The `## ` heading of its BENCHMARKS.md section. */
  section: string;
  /** The section's header lines ("Server: …"). */
  setup: string[];
  /** Every scenario the program knows, in the order they run (the chosen ones only). */
  scenarios: Record<S, Scenario>;
}

/**
 * Runs a benchmark program made of scenarios chosen by --scenario (bench/access.ts,
 * bench/fleet.ts) through runBenchProgram: each chosen one in turn, its rows, details and how
 * one after another.
 * @example await runScenarioProgram(o, { file: 'bench/access.ts', section, setup, scenarios: { tokens: { run: () => tokenVerifyRows(o.tokens), how } } })
 */
export function runScenarioProgram<S extends string>(o: ScenarioProgramOptions<S>, p: ScenarioProgram<S>): Promise<never> {
  return runBenchProgram({
    file: p.file,
    section: p.section,
    command: o.command,
    writeMarkdown: o.writeMarkdown,
    async run(): Promise<ProgramResult> {
      const r: ProgramResult = { rows: [], details: [], setup: p.setup, how: [] };
      for (const [name, s] of Object.entries<Scenario>(p.scenarios)) {
        if (!o.scenarios.includes(name as S)) continue;
        const { rows, details } = await s.run();
        r.rows.push(...rows);
        r.details.push(...details);
        r.how.push(s.how);
      }
      return r;
    },
  });
}
