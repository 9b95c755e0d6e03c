#!/usr/bin/env bash
# Print the absolute path of a Python interpreter >= 3.12 (< 3.15), or fail.
# Order: $PYTHON, python3.12, python3.13, python3, then pyenv's installed versions.
# pyenv shims are tried but only accepted if they actually run (a shim with no
# selected version fails), and the result is resolved to sys.executable.
set -u
probe() {
    "$1" -c 'import sys; v=sys.version_info; sys.exit(0 if (3,12)<=v[:2]<(3,15) else 1); ' >/dev/null 2>&1 \
        && "$1" -c 'import sys; print(sys.executable)' 2>/dev/null
}
cands=()
[ -n "${PYTHON:-}" ] && cands+=("$PYTHON")
cands+=(python3.12 python3.13 python3)
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root 2>/dev/null)
    for d in "$root"/versions/3.12.* "$root"/versions/3.13.* "$root"/versions/3.14.*; do
        [ -x "$d/bin/python3" ] && cands+=("$d/bin/python3")
    done
fi
for d in /usr/bin /usr/local/bin "$HOME"/.pyenv/versions/3.1[234].*/bin; do
    for n in python3.12 python3.13 python3.14; do [ -x "$d/$n" ] && cands+=("$d/$n"); done
done
for c in "${cands[@]}"; do
    if out=$(probe "$c"); then echo "$out"; exit 0; fi
done
echo "error: no Python >= 3.12 found (tried: ${cands[*]}); set PYTHON=/path/to/python3.12" >&2
exit 1
