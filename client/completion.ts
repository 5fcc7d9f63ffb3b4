// Shell completion: `slipway completion bash|zsh|fish` prints a script that completes the
// commands and their options, made from the command table, so it never lags behind it.
import { GLOBAL_FLAGS } from './argv.ts';
import type { ClientCommand, FlagSpec } from './commands/types.ts';
import { UsageError } from './errors.ts';

/** `--name` (and `-x`) of flags. */
function optionWords(flags: Record<string, FlagSpec>): string[] {
  return Object.entries(flags).flatMap(([k, f]) => [`--${k}`, ...(f.short ? [`-${f.short}`] : [])]);
}

/** A string in single quotes for sh, bash, zsh and fish (which all read '…' literally but for '). */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function bash(commands: readonly ClientCommand[]): string {
  const cases = commands.filter((c) => c.flags).map((c) => `    ${c.name}) opts=${sq(optionWords(c.flags!).join(' '))} ;;`).join('\n');
  return `# slipway completion for bash: eval "$(slipway completion bash)" (in ~/.bashrc)
_slipway() {
  local line=\${COMP_LINE:0:$COMP_POINT} cur cmd opts='' words
  cur=\${line##*[[:space:]]}
  read -r -a words <<< "$line"
  cmd=\${words[1]:-}
  if [ "\${#words[@]}" -le 1 ] || { [ "\${#words[@]}" -eq 2 ] && [ -n "$cur" ]; }; then
    COMPREPLY=($(compgen -W ${sq(commands.map((c) => c.name).join(' '))} -- "$cur"))
  else
    case "$cmd" in
${cases}
    esac
    COMPREPLY=($(compgen -W "$opts ${optionWords(GLOBAL_FLAGS).join(' ')}" -- "$cur"))
  fi
  # bash splits words at ':'; what is before the last one is already on the line.
  if [[ "$cur" == *:* ]]; then COMPREPLY=("\${COMPREPLY[@]#"\${cur%:*}:"}"); fi
}
complete -F _slipway slipway
`;
}

function zsh(commands: readonly ClientCommand[]): string {
  const described = commands.map((c) => sq(`${c.name.replace(/:/g, '\\:')}:${c.summary}`)).join(' \\\n    ');
  const cases = commands.filter((c) => c.flags).map((c) => `    ${c.name}) opts=(${optionWords(c.flags!).join(' ')}) ;;`).join('\n');
  return `#compdef slipway
# slipway completion for zsh: eval "$(slipway completion zsh)" (in ~/.zshrc, after compinit)
_slipway() {
  local -a cmds opts
  cmds=(
    ${described}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' cmds
    return
  fi
  case $words[2] in
${cases}
  esac
  compadd -- $opts ${optionWords(GLOBAL_FLAGS).join(' ')}
}
compdef _slipway slipway
`;
}

function fish(commands: readonly ClientCommand[]): string {
  const lines = ['# slipway completion for fish: slipway completion fish > ~/.config/fish/completions/slipway.fish', 'complete -c slipway -f'];
  for (const c of commands) lines.push(`complete -c slipway -n __fish_use_subcommand -a ${sq(c.name)} -d ${sq(c.summary)}`);
  for (const c of commands) {
    for (const [k, f] of Object.entries(c.flags ?? {})) lines.push(`complete -c slipway -n ${sq(`__fish_seen_subcommand_from ${c.name}`)} -l ${k}${f.short ? ` -s ${f.short}` : ''}${f.type === 'string' ? ' -r' : ''} -d ${sq(f.help)}`);
  }
  for (const [k, f] of Object.entries(GLOBAL_FLAGS)) lines.push(`complete -c slipway -l ${k}${f.short ? ` -s ${f.short}` : ''}${f.type === 'string' ? ' -r' : ''} -d ${sq(f.help)}`);
  return lines.join('\n') + '\n';
}

/** The completion script for `shell`. */
export function completionScript(shell: string, commands: readonly ClientCommand[]): string {
  if (shell === 'bash') return bash(commands);
  if (shell === 'zsh') return zsh(commands);
  if (shell === 'fish') return fish(commands);
  throw new UsageError(`No completion for ${JSON.stringify(shell)}: use bash, zsh or fish.`);
}
