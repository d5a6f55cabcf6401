import type { Command, Option } from 'commander';

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

/** Where resource names complete: after `from` positional arguments, names of `kind` ('$1': the kind typed first). */
export interface NameArgument {
  kind: string;
  from: number;
}

/** What completion needs to know besides the command tree. */
export interface CompletionHints {
  /** First positional argument values, by the argument's name: `kind` → the kinds. */
  argumentValues: Record<string, string[]>;
  /** Commands whose positional arguments are resource names: `eim get` → { kind: '$1', from: 1 }. */
  names: Record<string, NameArgument>;
  /** Flags whose value is a resource name of a kind, in every command: `--site` → 'sites'. */
  flagNames: Record<string, string>;
}

/** What completion needs to know, read off the command tree. */
interface CompletionModel {
  /** `eim host` → its subcommands. */
  subcommands: Map<string, string[]>;
  /** `eim get` → its options, the global ones included. */
  options: Map<string, Option[]>;
  /** Flags that take a value (the next word is theirs, not a command). */
  valueFlags: string[];
  /** `eim get|-o` → the values of that flag. */
  flagValues: Map<string, string[]>;
  /** `eim get` → what its first positional argument may be. */
  firstArgument: Map<string, string[]>;
  hints: CompletionHints;
}

const flagsOf = (o: Option) => [o.long, o.short].filter((f): f is string => !!f);

/**
 * A bash, zsh or fish completion script for the whole command tree: commands, their flags, flag
 * values with fixed choices, the values of first arguments (the kinds), and resource names, which
 * the script asks the server for through the hidden `eim __complete names KIND PREFIX` (bounded
 * and quick: see complete-command.ts).
 * @example completionScript(program, 'bash', { argumentValues: { kind: ['hosts'] }, names: {}, flagNames: {} })
 */
export function completionScript(program: Command, shell: Shell, hints: CompletionHints): string {
  const m = model(program, hints);
  return shell === 'bash' ? bash(m) : shell === 'zsh' ? zsh(m) : fish(m);
}

function model(program: Command, hints: CompletionHints): CompletionModel {
  const m: CompletionModel = { subcommands: new Map(), options: new Map(), valueFlags: [], flagValues: new Map(), firstArgument: new Map(), hints };
  const globals = program.options.filter((o) => o.long !== '--version');
  const walk = (cmd: Command, path: string) => {
    const visible = cmd.commands.filter((c) => c.name() !== 'help' && !(c as unknown as { _hidden?: boolean })._hidden);
    m.subcommands.set(path, visible.map((c) => c.name()));
    m.options.set(path, cmd === program ? [...program.options] : [...cmd.options, ...globals]);
    for (const o of cmd.options) {
      if (!(o.required || o.optional)) continue;
      m.valueFlags.push(...flagsOf(o));
      if (o.argChoices) m.flagValues.set(path, [...(m.flagValues.get(path) ?? []), ...flagsOf(o).map((f) => `${f}=${o.argChoices!.join(' ')}`)]);
    }
    const first = cmd.registeredArguments[0];
    const values = first && (first.argChoices ?? hints.argumentValues[first.name()]);
    if (values) m.firstArgument.set(path, values);
    for (const c of visible) walk(c, `${path} ${c.name()}`);
  };
  walk(program, program.name());
  m.valueFlags = [...new Set(m.valueFlags)];
  return m;
}

/** Word lists of the options of a command (`--filter -o --help`). */
const optionWords = (m: CompletionModel, path: string) => [...(m.options.get(path) ?? []).flatMap(flagsOf), '--help', ...(path === 'eim' ? ['--version'] : [])];

/** The shell-neutral core: `case` statements that both bash and zsh accept. */
function body(m: CompletionModel, q: (s: string) => string): string {
  const paths = [...m.subcommands.keys()].filter((p) => p.includes(' '));
  const flagCases = [...m.flagValues].flatMap(([path, entries]) =>
    entries.map((e) => {
      const [flag, values] = e.split('=');
      return `    ${q(`${path}|${flag}`)}) cands=${q(values)} ;;`;
    }),
  );
  const flagNameCases = Object.entries(m.hints.flagNames).map(([flag, kind]) => `        ${q(flag)}) cands="$(_eim_names ${q(kind)})" ;;`);
  const flagWordCases = [...m.options.keys()].map((path) => `          ${q(path)}) cands=${q(optionWords(m, path).join(' '))} ;;`);
  const subCases = [...m.subcommands].filter(([, subs]) => subs.length > 0).map(([path, subs]) => `          ${q(path)}) cands=${q(subs.join(' '))} ;;`);
  const argCases = [...m.firstArgument].map(([path, values]) => `              ${q(path)}) cands="$cands ${values.join(' ')}" ;;`);
  const nameCases = Object.entries(m.hints.names).map(
    ([path, n]) => `            ${q(path)}) if [ "$npos" -ge ${n.from} ]; then cands="$cands $(_eim_names ${n.kind === '$1' ? '"$pos1"' : q(n.kind)})"; fi ;;`,
  );
  return `  cmdpath=${q('eim')}
  npos=0
  pos1=""
  while [ "$i" -lt "$last" ]; do
    w="\${ws[$i]}"
    case "$w" in
      ${m.valueFlags.join('|')}) i=$((i + 2)); continue ;;
      -*) i=$((i + 1)); continue ;;
    esac
    case "$cmdpath $w" in
      ${paths.map(q).join('|')}) cmdpath="$cmdpath $w"; npos=0 ;;
      *) npos=$((npos + 1)); if [ "$npos" -eq 1 ]; then pos1="$w"; fi ;;
    esac
    i=$((i + 1))
  done
  cands=""
  case "$cmdpath|$prev" in
${flagCases.join('\n')}
    *)
      case "$prev" in
${flagNameCases.join('\n')}
        ${m.valueFlags.join('|')}) return 0 ;;
        *)
      case "$cur" in
        -*)
          case "$cmdpath" in
${flagWordCases.join('\n')}
          esac
          ;;
        *)
          case "$cmdpath" in
${subCases.join('\n')}
          esac
          if [ "$npos" -eq 0 ]; then
            case "$cmdpath" in
${argCases.join('\n')}
            esac
          fi
          case "$cmdpath" in
${nameCases.join('\n')}
          esac
          ;;
      esac
      ;;
      esac
      ;;
  esac`;
}

const dq = (s: string) => `"${s.replace(/["\\$`]/g, '\\$&')}"`;

/** Asks the server for names of a kind starting with $cur (at most 2 s; nothing on any error). */
const NAMES_FN = `_eim_names() {
  [ -n "$1" ] || return 0
  eim __complete names "$1" "$cur" 2>/dev/null
}`;

function bash(m: CompletionModel): string {
  return `# eim completion for bash. Load it now:  source <(eim completion bash)
# or for good:  eim completion bash > ~/.local/share/bash-completion/completions/eim
${NAMES_FN}
_eim() {
  local cur prev cmdpath npos pos1 w cands i last
  local -a ws
  ws=("\${COMP_WORDS[@]}")
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  i=1
  last=$COMP_CWORD
${body(m, dq)}
  COMPREPLY=($(compgen -W "$cands" -- "$cur"))
}
complete -F _eim eim
`;
}

function zsh(m: CompletionModel): string {
  return `#compdef eim
# eim completion for zsh. Load it now:  source <(eim completion zsh)
# or for good:  eim completion zsh > "\${fpath[1]}/_eim"
${NAMES_FN}
_eim() {
  local cur prev cmdpath npos pos1 w cands i last
  local -a ws
  ws=("\${(@)words}")
  cur="\${words[CURRENT]}"
  prev="\${words[CURRENT-1]}"
  i=2
  last=$CURRENT
${body(m, dq)}
  compadd -- \${=cands}
}
if (( $+functions[compdef] )); then compdef _eim eim; fi
`;
}

/** fish quotes: single quotes, with \\ and \' escaped. */
const sq = (s: string) => `'${s.replace(/[\\']/g, '\\$&')}'`;

function fish(m: CompletionModel): string {
  const paths = [...m.subcommands.keys()].filter((p) => p.includes(' '));
  const lines: string[] = [];
  const at = (path: string, min: number, max: number | '*') => `__eim_at ${sq(path)} ${min} ${max === '*' ? 999 : max}`;
  for (const [path, subs] of m.subcommands) if (subs.length > 0) lines.push(`complete -c eim -f -n ${sq(at(path, 0, 0))} -a ${sq(subs.join(' '))}`);
  for (const [path, values] of m.firstArgument) lines.push(`complete -c eim -f -n ${sq(at(path, 0, 0))} -a ${sq(values.join(' '))}`);
  for (const [path, n] of Object.entries(m.hints.names)) {
    lines.push(`complete -c eim -f -n ${sq(at(path, n.from, '*'))} -a ${sq(`(__eim_names ${n.kind === '$1' ? '(__eim_pos1)' : n.kind})`)}`);
  }
  for (const [path, options] of m.options) {
    for (const o of options) {
      const parts = [`complete -c eim -f -n ${sq(`__eim_in ${sq(path)}`)}`];
      if (o.long) parts.push(`-l ${o.long.replace(/^--/, '')}`);
      if (o.short) parts.push(`-s ${o.short.replace(/^-/, '')}`);
      if (o.required || o.optional) parts.push('-r');
      const kind = o.long ? m.hints.flagNames[o.long] : undefined;
      if (o.argChoices) parts.push(`-a ${sq(o.argChoices.join(' '))}`);
      else if (kind) parts.push(`-a ${sq(`(__eim_names ${kind})`)}`);
      if (o.description) parts.push(`-d ${sq(o.description.slice(0, 80))}`);
      lines.push(parts.join(' '));
    }
  }
  return `# eim completion for fish. Load it now:  eim completion fish | source
# or for good:  eim completion fish > ~/.config/fish/completions/eim.fish
set -g __eim_paths ${paths.map(sq).join(' ')}
set -g __eim_value_flags ${m.valueFlags.map(sq).join(' ')}

# The command path typed so far (eim host power), how many positional words follow it, the first of them.
function __eim_state
    set -l words (commandline -opc)
    set -e words[1]
    set -l path eim
    set -l npos 0
    set -l pos1 ''
    set -l skip 0
    for w in $words
        if test $skip -eq 1
            set skip 0
            continue
        end
        if contains -- $w $__eim_value_flags
            set skip 1
            continue
        end
        if string match -q -- '-*' $w
            continue
        end
        if contains -- "$path $w" $__eim_paths
            set path "$path $w"
            set npos 0
        else
            set npos (math $npos + 1)
            test $npos -eq 1; and set pos1 $w
        end
    end
    printf '%s\\n' $path $npos $pos1
end
function __eim_in
    set -l s (__eim_state)
    test "$s[1]" = "$argv[1]"
end
function __eim_at
    set -l s (__eim_state)
    test "$s[1]" = "$argv[1]"; and test $s[2] -ge $argv[2]; and test $s[2] -le $argv[3]
end
function __eim_pos1
    set -l s (__eim_state)
    echo $s[3]
end
# Names of a kind starting with the word being typed, from the server (at most 2 s; nothing on any error).
function __eim_names
    test -n "$argv[1]"; or return 0
    eim __complete names $argv[1] (commandline -ct) 2>/dev/null
end

complete -c eim -e
${lines.join('\n')}
`;
}
