"""`make package` builds an installable Debian package whose tree runs as shipped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import NOT_DEBIAN, NOT_DEBIAN_REASON, REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # builds the package (minutes on a loaded 2-core machine)
    pytest.mark.xdist_group("deb"),  # one worker builds the package once for all of them
    pytest.mark.skipif(NOT_DEBIAN, reason=NOT_DEBIAN_REASON),
]


@pytest.fixture(scope="module")
def tree(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Extract the package's files into a scratch root."""
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_control_metadata(deb: Path) -> None:
    """The package is named hedgegridd, versioned like the code (+ revision), depends on systemd."""
    import hedgegridd

    assert _field(deb, "Package") == "hedgegridd"
    assert _field(deb, "Version").startswith(hedgegridd.__version__ + "-")
    assert "systemd" in _field(deb, "Depends")


def test_contents_units_configs_and_app(deb: Path, tree: Path) -> None:
    """Units, sysusers/tmpfiles, configs as conffiles, launchers and the private app are shipped."""
    for rel in [
        "usr/lib/systemd/system/hedgegridd.service",
        "usr/lib/systemd/system/hedgegridd@.service",
        "usr/lib/systemd/system/hedgegridd.socket",
        "usr/lib/sysusers.d/hedgegrid.conf",
        "usr/lib/tmpfiles.d/hedgegrid.conf",
        "etc/hedgegrid/hedgegridd.toml",
        "usr/bin/hedgegridd",
        "usr/bin/hedgegridctl",
        "usr/bin/hedgegrid",
        "usr/share/doc/hedgegridd/README.md",
        "usr/share/doc/hedgegridd/grafana-dashboard.json",
    ]:
        assert (tree / rel).exists(), rel
    conffiles = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    assert b"conffiles" in conffiles
    info = subprocess.run(
        ["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "/etc/hedgegrid/hedgegridd.toml" in info
    sites = list(
        (tree / "usr/lib/hedgegridd/python/lib").glob("python3.*/site-packages/hedgegridd")
    )
    assert sites, "hedgegridd is not installed in the private interpreter"
    assert not (tree / "etc/hedgegrid/credentials").exists(), "credentials are created on install"


def test_packaged_daemon_and_ctl_run_from_extracted_tree(tree: Path) -> None:
    """The packaged `hedgegridd --version` and `hedgegridctl --help` run from the extracted tree."""
    import hedgegridd

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tree)}
    version = subprocess.run(
        [str(tree / "usr/bin/hedgegridd"), "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert version.returncode == 0, version.stderr
    assert hedgegridd.__version__ in version.stdout
    helptext = subprocess.run(
        [str(tree / "usr/bin/hedgegridctl"), "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert helptext.returncode == 0, helptext.stderr
    assert "status" in helptext.stdout
    # The packaged interpreter is the private one, not the build host's.
    python = tree / "usr/lib/hedgegridd/python/bin/python3"
    where = subprocess.run(
        [str(python), "-c", "import hedgegridd, sys; print(hedgegridd.__file__, sys.prefix)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert str(tree) in where


def test_depends_computed_from_linked_libraries(deb: Path) -> None:
    """Depends names the libraries the bundled extension modules link (dpkg-shlibdeps)."""
    depends = _field(deb, "Depends")
    for package in ("libc6", "libssl3", "libsqlite3-0", "libffi8", "liblzma5", "libbz2-1.0"):
        assert package in depends, (package, depends)
    for package in ("zlib1g", "libstdc++6", "libgcc-s1", "systemd", "init-system-helpers"):
        assert package in depends, (package, depends)
    # Interactive-only modules (readline, curses, tkinter) are not shipped, nor their libraries.
    for package in ("libreadline", "libncursesw", "libtk", "libtcl"):
        assert package not in depends, (package, depends)


def test_no_build_host_path_tooling_or_tests(tree: Path) -> None:
    """No build-host path, console script, pip/setuptools/wheel or test suite is shipped."""
    host_prefix = subprocess.run(
        [str(REPO / "scripts/find-python.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    host_home = subprocess.run(
        [host_prefix, "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    paths = [str(REPO)] + ([host_home] if host_home not in ("/usr", "/usr/local") else [])
    grep = subprocess.run(
        ["grep", "-rlaF", *(arg for p in paths for arg in ("-e", p)), str(tree)],
        capture_output=True,
        text=True,
    )
    assert grep.stdout == "", grep.stdout[:2000]
    python = tree / "usr/lib/hedgegridd/python"
    assert sorted(p.name for p in (python / "bin").iterdir()) == ["python3", "python3.12"]
    site = next((python / "lib").glob("python3.*/site-packages"))
    for unwanted in ("pip", "setuptools", "wheel", "pandas/tests", "numpy/_core/tests"):
        assert not (site / unwanted).exists(), unwanted
    for path in tree.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                head = fh.readline(200)
            if head.startswith(b"#!"):
                interpreter = head[2:].split()[0].decode()
                assert interpreter.startswith(("/bin/", "/usr/bin/")), (path, interpreter)


def test_binaries_stripped(tree: Path) -> None:
    """Every ELF object in the package is stripped (no symbol table, no debug info)."""
    elves = []
    for path in tree.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    elves.append(path)
    assert len(elves) > 100
    for path in elves:
        sections = subprocess.run(
            ["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True
        ).stdout
        assert ".symtab" not in sections, path
        assert ".debug_info" not in sections, path


def test_docs_manual_pages_and_maintainer_scripts(deb: Path, tree: Path) -> None:
    """Manual pages, Debian changelog, DEP-5 copyright; maintainer scripts use deb-systemd-*."""
    for page in ("man8/hedgegridd.8.gz", "man1/hedgegridctl.1.gz", "man1/hedgegrid.1.gz"):
        assert (tree / "usr/share/man" / page).exists(), page
    doc = tree / "usr/share/doc/hedgegridd"
    assert (doc / "changelog.Debian.gz").exists()
    copyright_text = (doc / "copyright").read_text()
    assert copyright_text.startswith("Format: https://www.debian.org/doc/packaging-manuals/")
    assert "nautilus_trader/*" in copyright_text
    assert "License: LGPL-3+" in copyright_text
    scripts = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    assert b"md5sums" in scripts
    for name in ("postinst", "prerm", "postrm"):
        text = subprocess.run(
            ["dpkg-deb", "-I", str(deb), name], capture_output=True, text=True, check=True
        ).stdout
        assert "deb-systemd-" in text, name
        for line in text.splitlines():
            if "systemctl" in line and not line.lstrip().startswith("#"):
                assert "daemon-reload" in line, (name, line)
