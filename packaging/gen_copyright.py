"""Write the package's machine-readable copyright file (DEP-5) from what is bundled.

    python packaging/gen_copyright.py STAGE PYTHON_HOME > copyright

STAGE is the package's staged root, PYTHON_HOME the private interpreter's directory
relative to it (usr/lib/hedgegridd/python). One ``Files:`` paragraph per bundled Python
distribution (its licence read from the wheel's metadata, the full licence texts from
its dist-info) and one for the private CPython; hedgegridd's own files come first.
Run by packaging/build-deb.sh on the staged tree, so the list cannot miss a dependency.
"""

from __future__ import annotations

import re
import sys
from email.parser import HeaderParser
from pathlib import Path

HEADER = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hedgegridd
Upstream-Contact: hedgegrid developers <hedgegrid@example.org>
Comment: hedgegridd bundles a private CPython interpreter and its locked Python
 dependencies under /usr/lib/hedgegridd/python. Each is listed below with the licence
 declared in its distribution metadata and the licence texts it ships.

Files: *
Copyright: 2026 hedgegrid developers
License: proprietary
 All rights reserved. hedgegridd is distributed to its operators under the terms
 agreed with the hedgegrid developers; no other licence is granted.
"""

# Licence names in wheel metadata -> DEP-5 short names.
_ALIASES = {
    "apache 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "mit license": "MIT",
    "python software foundation license": "PSF-2.0",
    "gnu lesser general public license v3 or later (lgplv3+)": "LGPL-3+",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3",
    "lgpl-3.0-or-later": "LGPL-3+",
    "bsd license": "BSD-3-clause",
    "bsd-3-clause": "BSD-3-clause",
    "bsd-2-clause": "BSD-2-clause",
}


def _short(name: str) -> str:
    name = name.strip()
    return _ALIASES.get(name.lower(), name)


def license_expression(meta: dict[str, str], classifiers: list[str]) -> str:
    """The DEP-5 licence expression of one distribution (``and``/``or`` in lower case)."""
    expr = (meta.get("License-Expression") or "").strip()
    if not expr:
        first = (meta.get("License") or "").strip().split("\n")[0]
        expr = first if 0 < len(first) <= 60 else ""
    if not expr:
        names = [c.split("::")[-1] for c in classifiers if c.startswith("License ::")]
        expr = " or ".join(_short(n) for n in names) if names else "unknown"
    parts = re.split(r"\s+(AND|OR|and|or)\s+", expr)
    return " ".join(p.lower() if p.lower() in ("and", "or") else _short(p) for p in parts)


def _indent(text: str) -> str:
    lines = []
    for line in text.expandtabs(4).rstrip().splitlines():
        line = line.rstrip()
        lines.append(" ." if not line else " " + line)
    return "\n".join(lines)


# Full texts Debian ships in /usr/share/common-licenses: referenced instead of repeated.
_COMMON = (
    (
        re.compile(
            r"[ \t]*Apache License\s+Version 2\.0, January 2004.*?END OF TERMS AND CONDITIONS", re.S
        ),
        "Apache-2.0",
    ),
    (
        re.compile(
            r"[ \t]*GNU GENERAL PUBLIC LICENSE\s+Version 3, 29 June 2007.*?"
            r"END OF TERMS AND CONDITIONS",
            re.S,
        ),
        "GPL-3",
    ),
    (
        re.compile(
            r"[ \t]*GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991.*?"
            r"END OF TERMS AND CONDITIONS",
            re.S,
        ),
        "GPL-2",
    ),
    (
        re.compile(r"[ \t]*GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3, 29 June 2007.*", re.S),
        "LGPL-3",
    ),
)


def common_license_refs(text: str) -> str:
    """``text`` with full licence texts found in common-licenses replaced by a reference."""
    for pattern, name in _COMMON:
        ref = (
            f"On Debian systems, the complete text of this licence ({name}) can be found"
            f" in /usr/share/common-licenses/{name}."
        )
        text = pattern.sub(ref, text)
    return text


def _license_texts(dist_info: Path) -> str:
    files = sorted(p for p in dist_info.rglob("*") if p.is_file() and _is_license(p.name))
    chunks = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            chunks.append(common_license_refs(text).strip())
        except OSError:
            continue
    return "\n\n".join(dict.fromkeys(c for c in chunks if c))


def _is_license(name: str) -> bool:
    return bool(re.match(r"(LICEN[CS]E|COPYING|NOTICE)", name, re.I))


def _top_levels(dist_info: Path) -> list[str]:
    tops: set[str] = set()
    record = dist_info / "RECORD"
    if record.exists():
        for line in record.read_text(encoding="utf-8").splitlines():
            path = line.split(",")[0]
            if path and not path.startswith(("..", "/")):
                tops.add(path.split("/")[0])
    return sorted(t for t in tops if t != "__pycache__")


def paragraphs(stage: Path, home: str) -> list[str]:
    """Files paragraphs for the interpreter and every distribution in its site-packages."""
    out: list[str] = []
    libs = sorted((stage / home).glob("lib/python3.*"))
    if libs:
        cpython = libs[0] / "LICENSE.txt"
        text = common_license_refs(cpython.read_text(encoding="utf-8")) if cpython.exists() else ""
        out.append(
            f"Files: {home}/*\n"
            "Copyright: 2001-2026 Python Software Foundation\n"
            "License: PSF-2.0\n" + _indent(text or "Python Software Foundation License 2.0")
        )
    site = libs[0] / "site-packages" if libs else stage / home
    for dist_info in sorted(site.glob("*.dist-info")):
        meta = HeaderParser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
        name = meta.get("Name", dist_info.name.split("-")[0])
        if name.lower() == "hedgegridd":
            continue
        fields = {k: str(v) for k, v in meta.items()}
        expr = license_expression(fields, meta.get_all("Classifier") or [])
        author = meta.get("Author") or meta.get("Author-email") or meta.get("Maintainer-email")
        holder = (author or f"the {name} authors").split("\n")[0].strip()
        rel = site.relative_to(stage).as_posix()
        patterns = [
            f"{rel}/{top}" + ("/*" if (site / top).is_dir() else "")
            for top in _top_levels(dist_info)
        ]
        texts = _license_texts(dist_info) or f"See the {name} distribution's licence ({expr})."
        out.append(
            "Files: "
            + "\n ".join(patterns or [f"{rel}/{dist_info.name}/*"])
            + f"\nCopyright: {holder}\nLicense: {expr}\n"
            + _indent(texts)
        )
    return out


def main(argv: list[str]) -> int:
    """Print the copyright file for the staged tree."""
    sys.stdout.write(HEADER + "\n" + "\n\n".join(paragraphs(Path(argv[1]), argv[2])) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
