// Shell completion scripts for `iotfw completion bash|zsh`: generated from the program itself (every
// command with its options, so they never drift from what the CLI accepts), written once into the
// user's shell setup; completing then costs the shell nothing (no iotfw process per Tab). Pure.
import type { Command } from "commander";

/** Every command and the long and short options it takes. */
export function commandOptions(program: Command): Array<{ name: string; options: string[] }> {
  return program.commands.filter((c) => c.name() !== "help").map((c) => ({
    name: c.name(),
    options: [...c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)), "--help"],
  })).sort((a, b) => a.name.localeCompare(b.name));
}

export function bashCompletion(program: Command): string {
  const cmds = commandOptions(program);
  const cases = cmds.map((c) => `    ${c.name}) opts="${c.options.join(" ")}" ;;`).join("\n");
  return `# iotfw bash completion: source this file, or put it in ~/.local/share/bash-completion/completions/iotfw
_iotfw() {
  local cur=\${COMP_WORDS[COMP_CWORD]} opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${cmds.map((c) => c.name).join(" ")} help --help --version" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "$opts" -- "$cur") ); else COMPREPLY=( $(compgen -f -- "$cur") ); fi
}
complete -o filenames -F _iotfw iotfw
`;
}

export function zshCompletion(program: Command): string {
  const cmds = commandOptions(program);
  return `#compdef iotfw
# iotfw zsh completion: put this file as _iotfw in a folder of your $fpath
_iotfw() {
  local -a commands
  commands=(${cmds.map((c) => `'${c.name}'`).join(" ")})
  if (( CURRENT == 2 )); then _describe 'command' commands; return; fi
  case $words[2] in
${cmds.map((c) => `    ${c.name}) _arguments ${c.options.map((o) => `'${o}[]'`).join(" ")} '*:file:_files' ;;`).join("\n")}
  esac
}
_iotfw "$@"
`;
}
