import type { Command, Option } from 'commander';

/** What completion needs to know, read off the command tree. */
interface CompletionModel {
  /** `eim host` → its subcommands. */
  subcommands: Map<string, string[]>;
  /** `eim get` → its flags, the global ones included. */
  flags: Map<string, string[]>;
  /** Flags that take a value (the next word is theirs, not a command). */
  valueFlags: string[];
  /** `eim get|-o` → the values of that flag. */
  flagValues: Map<string, string[]>;
  /** `eim get` → what its first positional argument may be. */
  firstArgument: Map<string, string[]>;
}

const flagsOf = (o: Option) => [o.long, o.short].filter((f): f is string => !!f);

/**
 * A bash or zsh completion script for the whole command tree: commands, their flags, flag
 * values with fixed choices, and the values of first arguments (`argumentValues`, keyed by the
 * argument's name: `kind` → the kinds).
 * @example completionScript(program, 'bash', { kind: ['hosts', 'sites'] })
 */
export function completionScript(program: Command, shell: 'bash' | 'zsh', argumentValues: Record<string, string[]>): string {
  const m = model(program, argumentValues);
  return shell === 'bash' ? bash(m) : zsh(m);
}

function model(program: Command, argumentValues: Record<string, string[]>): CompletionModel {
  const m: CompletionModel = { subcommands: new Map(), flags: new Map(), valueFlags: [], flagValues: new Map(), firstArgument: new Map() };
  const globalFlags = [...program.options.filter((o) => o.long !== '--version').flatMap(flagsOf), '--help'];
  const walk = (cmd: Command, path: string) => {
    m.subcommands.set(path, cmd.commands.filter((c) => c.name() !== 'help').map((c) => c.name()));
    m.flags.set(path, cmd === program ? [...globalFlags, '--version'] : [...cmd.options.flatMap(flagsOf), ...globalFlags]);
    for (const o of cmd.options) {
      if (!(o.required || o.optional)) continue;
      m.valueFlags.push(...flagsOf(o));
      if (o.argChoices) m.flagValues.set(path, [...(m.flagValues.get(path) ?? []), ...flagsOf(o).map((f) => `${f}=${o.argChoices!.join(' ')}`)]);
    }
    const first = cmd.registeredArguments[0];
    const values = first && (first.argChoices ?? argumentValues[first.name()]);
    if (values) m.firstArgument.set(path, values);
    for (const c of cmd.commands) walk(c, `${path} ${c.name()}`);
  };
  walk(program, program.name());
  m.valueFlags = [...new Set(m.valueFlags)];
  return m;
}

/** The shell-neutral core: `case` statements that both bash and zsh accept. */
function body(m: CompletionModel, q: (s: string) => string): string {
  const paths = [...m.subcommands.keys()].filter((p) => p.includes(' '));
  const flagCases = [...m.flagValues].flatMap(([path, entries]) =>
    entries.map((e) => {
      const [flag, values] = e.split('=');
      return `    ${q(`${path}|${flag}`)}) cands=${q(values)} ;;`;
    }),
  );
  const flagWordCases = [...m.flags].map(([path, words]) => `          ${q(path)}) cands=${q(words.join(' '))} ;;`);
  const subCases = [...m.subcommands].filter(([, subs]) => subs.length > 0).map(([path, subs]) => `          ${q(path)}) cands=${q(subs.join(' '))} ;;`);
  const argCases = [...m.firstArgument].map(([path, values]) => `              ${q(path)}) cands="$cands ${values.join(' ')}" ;;`);
  return `  cmdpath=${q('eim')}
  npos=0
  while [ "$i" -lt "$last" ]; do
    w="\${ws[$i]}"
    case "$w" in
      ${m.valueFlags.join('|')}) i=$((i + 2)); continue ;;
      -*) i=$((i + 1)); continue ;;
    esac
    case "$cmdpath $w" in
      ${paths.map(q).join('|')}) cmdpath="$cmdpath $w"; npos=0 ;;
      *) npos=$((npos + 1)) ;;
    esac
    i=$((i + 1))
  done
  cands=""
  case "$cmdpath|$prev" in
${flagCases.join('\n')}
    *)
      case "$prev" in
        ${m.valueFlags.join('|')}) return 0 ;;
      esac
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
          ;;
      esac
      ;;
  esac`;
}

const dq = (s: string) => `"${s.replace(/["\\$`]/g, '\\$&')}"`;

function bash(m: CompletionModel): string {
  return `# eim completion for bash. Load it now:  source <(eim completion bash)
# or for good:  eim completion bash > ~/.local/share/bash-completion/completions/eim
_eim() {
  local cur prev cmdpath npos w cands i last
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
_eim() {
  local cur prev cmdpath npos w cands i last
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
