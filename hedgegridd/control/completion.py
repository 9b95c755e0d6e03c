"""Shell completion for ``hedgegridctl``, generated from the protocol's command table."""

from __future__ import annotations

from hedgegridd.control.commands import COMMAND_INFO

_OPTIONS = (
    "--socket",
    "--instance",
    "--all",
    "--runtime-dir",
    "--json",
    "--timeout",
    "--help",
    "--version",
)
_SUBWORDS: dict[str, tuple[str, ...]] = {
    "flatten": ("long", "short", "both"),
    "completion": ("bash", "zsh"),
    "resume": ("--reason", "--all"),
    "pause": ("--reason", "--keep-orders"),
}


def command_words() -> dict[str, tuple[str, ...]]:
    """Top-level words and their second words (``killswitch.status`` -> killswitch status)."""
    words: dict[str, list[str]] = {}
    for name in COMMAND_INFO:
        head, _, tail = name.partition(".")
        words.setdefault(head, [])
        if tail:
            words[head].append(tail)
    for head, extra in _SUBWORDS.items():
        words.setdefault(head, []).extend(extra)
    return {head: tuple(tails) for head, tails in words.items()}


def completion_script(shell: str) -> str:
    """A bash completion function (zsh loads it through ``bashcompinit``)."""
    words = command_words()
    cases = "\n".join(
        f'        {head}) COMPREPLY=($(compgen -W "{" ".join(tails)}" -- "$cur")) ;;'
        for head, tails in sorted(words.items())
        if tails
    )
    script = f"""# hedgegridctl completion ({shell}); generated from the control protocol
_hedgegridctl() {{
    local cur prev cmd i
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    case "$prev" in
        --socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --runtime-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --instance)
            local rt="${{HEDGEGRID_RUNTIME_DIR:-/run/hedgegrid}}" d names=""
            for ((i = 1; i < COMP_CWORD; i++)); do
                [[ "${{COMP_WORDS[i]}}" == --runtime-dir ]] && rt="${{COMP_WORDS[i+1]}}"
            done
            for d in "$rt"/*/; do
                [[ -S "${{d}}control.sock" ]] && names+=" $(basename "$d")"
            done
            COMPREPLY=($(compgen -W "$names" -- "$cur")); return ;;
        --timeout) return ;;
    esac
    cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            --socket|--timeout|--instance|--runtime-dir) ((i++)) ;;
            -*) ;;
            *) cmd="${{COMP_WORDS[i]}}"; break ;;
        esac
    done
    if [[ -z "$cmd" ]]; then
        COMPREPLY=($(compgen -W "{" ".join(sorted(words))} {" ".join(_OPTIONS)}" -- "$cur"))
        return
    fi
    case "$cmd" in
{cases}
    esac
}}
complete -F _hedgegridctl hedgegridctl"""
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script
