"""Replace the build host's interpreter prefix in staged files: ``relocate.py OLD NEW FILE...``.

Text files get a plain replacement. In binaries (the compiled-in PREFIX of libpython)
each NUL-terminated string containing OLD is rewritten in place with NEW and padded
with NULs to the same length, the way conda relocates prefixes; when NEW is longer than
OLD, binaries get ``/usr`` instead. The interpreter finds its real home from its own
location at run time, so these strings only keep a build-host path out of the package.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def relocate(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with every occurrence of ``old`` replaced by ``new`` (binary-safe)."""
    if b"\0" not in data:
        return data.replace(old, new)
    if len(new) > len(old):
        new = b"/usr"

    def pad(match: re.Match[bytes]) -> bytes:
        text = match.group(0)
        replaced = text.replace(old, new)
        return replaced + b"\0" * (len(text) - len(replaced))

    return re.sub(re.escape(old) + rb"[^\0]*", pad, data)


def main(argv: list[str]) -> int:
    """Rewrite each FILE that contains OLD."""
    old, new = argv[1].encode(), argv[2].encode()
    for name in argv[3:]:
        path = Path(name)
        data = path.read_bytes()
        if old in data:
            path.write_bytes(relocate(data, old, new))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
