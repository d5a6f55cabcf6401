import { type ParseArgsConfig, parseArgs } from 'node:util';
import { FlagReader } from './flag-reader.ts';

/** The flags every bench program with options takes, besides its own. */
const COMMON = {
  quick: { type: 'boolean', default: false },
  md: { type: 'boolean' },
  'no-md': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flags that change only what is written, not what is measured. */
const NOT_MEASURED = ['md', 'no-md', 'help'];

type OwnOptions = NonNullable<ParseArgsConfig['options']>;
type Values<O extends OwnOptions> = ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof COMMON }>>['values'];

/** A bench program's command line, parsed; `--help` has printed the usage and exited already. */
export interface BenchArgs<O extends OwnOptions> {
  values: Values<O>;
  /** Reads `values` into numbers and choices; a bad one is a usage error (exit 2). */
  flags: FlagReader;
  /** The command line as typed (`npm run bench:x -- …`), for the record. */
  command: string;
  /** Whether any flag was given but --md, --no-md, --help and `ignored`: a run that changes what is measured. */
  anyGivenExcept(...ignored: string[]): boolean;
  /** Whether to rewrite the program's BENCHMARKS.md section: never with --no-md, always with --md, else unless `subset`. */
  writeMarkdown(subset: boolean): boolean;
}

/**
 * Parses a bench program's command line: its own `options` plus --quick, --md / --no-md and
 * --help (which prints `usage` and exits 0).
 * @example const a = parseBenchArgs('bench:access', USAGE, argv, { tokens: { type: 'string' } }); a.flags.whole(a.values.tokens, 20_000, '--tokens')
 */
export function parseBenchArgs<O extends OwnOptions>(script: string, usage: string, argv: string[], options: O): BenchArgs<O> {
  const { values } = parseArgs({ args: argv, options: { ...options, ...COMMON } }) as { values: Values<O> };
  const common = values as { help?: boolean; md?: boolean; 'no-md'?: boolean };
  if (common.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const given = values as Record<string, unknown>;
  return {
    values,
    flags: new FlagReader(usage),
    command: [`npm run ${script}`, ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    anyGivenExcept: (...ignored) => Object.entries(given).some(([k, v]) => !NOT_MEASURED.includes(k) && !ignored.includes(k) && v !== undefined && v !== false),
    writeMarkdown: (subset) => (common['no-md'] ? false : (common.md ?? !subset)),
  };
}
