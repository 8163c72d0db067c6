"""``kutui completion bash|zsh|fish``: print a shell completion script (README.md, "Shell
completion").

The scripts are thin: on each Tab they run the hidden ``kutui __complete -- WORD...`` (the words
after ``kutui``, the one being completed last), which reads kutui's own argparse parser, so
subcommands and options never drift from ``--help``, and the key references from kutui.db
(``kutui.store.names``: read-only, no vault, no textual). It prints one candidate per line, or
``@files`` where a file name is wanted (the shell completes it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

SHELLS = ("bash", "zsh", "fish")
FILES = "@files"
#: Option values that are paths: the shell completes file names for them.
PATH_METAVARS = frozenset({"FILE", "DIR", "PATH"})
#: Positionals completed with key references (REF) or accounts and sub-accounts (OWNER).
REF_DESTS = frozenset({"ref", "refs"})
OWNER_DESTS = frozenset({"owner", "account", "node"})

BASH = r"""# kutui bash completion: eval "$(kutui completion bash)" in ~/.bashrc, or save it as
# ~/.local/share/bash-completion/completions/kutui
_kutui() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local -a out words=("${COMP_WORDS[@]:1:COMP_CWORD}")
    mapfile -t out < <(command "${COMP_WORDS[0]}" __complete -- "${words[@]}" 2>/dev/null)
    if [[ ${out[0]-} == @files ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    else
        COMPREPLY=("${out[@]}")
    fi
}
complete -F _kutui kutui
"""

ZSH = r"""#compdef kutui
# kutui zsh completion: save it as _kutui in a directory of $fpath (before compinit runs), or
# eval "$(kutui completion zsh)" in ~/.zshrc after compinit.
_kutui() {
    local -a out
    out=("${(@f)$(command kutui __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if [[ ${out[1]-} == @files ]]; then
        _files
    elif (( ${#out} )) && [[ -n ${out[1]} ]]; then
        compadd -Q -- "${out[@]}"
    fi
}
# Autoloaded from $fpath the file is _kutui's body; eval'd, it defines _kutui and registers it.
if [[ ${funcstack[1]-} == _kutui ]]; then
    _kutui "$@"
else
    compdef _kutui kutui
fi
"""

FISH = r"""# kutui fish completion: kutui completion fish > ~/.config/fish/completions/kutui.fish
function __kutui_complete
    set -l words (commandline -opc)
    set -e words[1]
    # Quoted: an empty current token is still one (empty) word, the one being completed.
    set -l cur (commandline -ct)
    set -l out (command kutui __complete -- $words "$cur" 2>/dev/null)
    if test "$out[1]" = "@files"
        __fish_complete_path (commandline -ct)
        return
    end
    printf '%s\n' $out
end
complete -c kutui -f -a '(__kutui_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print the completion script for SHELL: subcommands, options and key "
        "references (read from the registry; the vault is never unlocked). README.md, 'Shell "
        "completion', says where to put it.",
    )
    parser.add_argument("shell", choices=SHELLS)
    parser.set_defaults(func=run_completion)


def run_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(SCRIPTS[args.shell])
    return 0


def run_complete(argv: list[str], build_parser: Callable[[], argparse.ArgumentParser]) -> int:
    """``kutui __complete -- WORD...``: ``kutui.cli.main`` sends it here before argparse (so it is
    in no listing, and costs no logging set-up), with its parser builder (this module does not
    import cli.py, which imports it): one candidate per line, never an error."""
    words = argv[1:] if argv[:1] == ["--"] else argv
    try:
        found = candidates(build_parser(), words or [""], home=None)
    except Exception:  # noqa: BLE001 - a completion bug must not print into the user's prompt
        found = []
    for line in found:
        print(line)
    return 0


# --------------------------------------------------------------------------- the walk


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The visible subcommands (those with help, as ``--help`` lists them)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            shown = {a.dest for a in action._choices_actions}
            return {name: p for name, p in action.choices.items() if name in shown}
    return {}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {
        s: a
        for a in parser._actions
        for s in a.option_strings
        if a.help is not argparse.SUPPRESS or s in ("-h", "--help")
    }


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]


def candidates(parser: argparse.ArgumentParser, words: list[str], *, home: str | None) -> list[str]:
    """What may replace the last of ``words`` (the command line after ``kutui``)."""
    *before, current = words
    pending: argparse.Action | None = None  # an option still waiting for its value
    positional = 0
    for word in before:
        if pending is not None:
            if pending.dest == "home":
                home = word
            pending = None
            continue
        if word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            action = _options(parser).get(name)
            if action is not None and _takes_value(action) and not eq:
                pending = action
            elif action is not None and action.dest == "home" and eq:
                home = value
            continue
        sub = _subcommands(parser).get(word)
        if sub is not None and positional == 0:
            parser, positional = sub, 0
            continue
        positional += 1
    if pending is not None:
        return _values(pending, current, home)
    if current.startswith("-"):
        return sorted(s for s in _options(parser) if s.startswith(current))
    subs = _subcommands(parser)
    if subs and positional == 0:
        return [name for name in subs if name.startswith(current)]
    slots = _positionals(parser)
    if not slots:
        return []
    slot = slots[min(positional, len(slots) - 1)]
    return _values(slot, current, home)


def _values(action: argparse.Action, current: str, home: str | None) -> list[str]:
    if action.choices is not None:
        return [str(c) for c in action.choices if str(c).startswith(current)]
    metavar = str(action.metavar or "").upper()
    if metavar in PATH_METAVARS or action.dest in ("home", "passphrase_file"):
        return [FILES]
    if action.dest in REF_DESTS or action.dest in OWNER_DESTS:
        return [n for n in _names(action, home) if n.startswith(current)]
    return []


def _names(action: argparse.Action, home: str | None) -> Iterator[str]:
    from kutui.paths import Paths
    from kutui.store.names import read_names

    try:
        paths = Paths.resolve(os.path.expanduser(home) if home else None)
    except Exception:  # noqa: BLE001 - a bad --home while typing: no names, no error
        return
    names = read_names(paths.db)
    if action.dest in REF_DESTS:
        yield from names.keys
    # `check` and the like take an account or sub-account as well; `key list` only those.
    if action.dest in OWNER_DESTS or action.nargs in ("*", "+"):
        yield from names.owners
