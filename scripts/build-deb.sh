#!/usr/bin/env bash
# Builds a Debian package of this checkout with dpkg-deb: tcpdiag_VERSION-1_ARCH.deb in OUTDIR
# (default: the checkout). `apt install ./tcpdiag_*.deb` installs it on Debian 12.
#
#   /usr/lib/tcpdiag/            the built JavaScript (dist/src, dist/fast), the production
#                                node_modules, the native addon, deploy/, package.json
#   /usr/bin/tcpdiag             -> ../lib/tcpdiag/dist/src/cli/launcher.cjs
#   /lib/systemd/system/tcpdiag.service        deploy/tcpdiag.service (not enabled on install)
#   /etc/tcpdiag/tcp_diag.conf   deploy/tcp_diag.conf, a conffile (dpkg keeps local edits)
#   /usr/share/man/man1/tcpdiag.1.gz, bash completion, /usr/share/doc/tcpdiag/ (copyright,
#                                the full commented example, the Prometheus and Grafana files)
#
# The package holds compiled code for one Node.js ABI: better-sqlite3's binding is built
# against this node's V8 (NODE_MODULE_VERSION), so Depends pins the major version it was built
# with. Run after `npm ci && npm run build`; the checkout is not changed (node_modules is
# copied and pruned in a staging directory, offline).
#   scripts/build-deb.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUTDIR="$(realpath -m "${1:-$ROOT}")"

log() { printf 'build-deb: %s\n' "$*" >&2; }
for tool in dpkg-deb dpkg node npm gzip strip; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing: apt-get install dpkg-dev binutils (and Node.js 20)"; exit 1; }
done
if [ ! -f dist/src/cli/launcher.cjs ] || [ ! -d node_modules ]; then
  log "build first: npm ci && npm run build"
  exit 1
fi

VERSION="$(node -p 'require("./package.json").version')-1"
ARCH="$(dpkg --print-architecture)"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
DEB="$OUTDIR/tcpdiag_${VERSION}_${ARCH}.deb"
# Debian's convention for who builds a package (dch, dh_make read the same variables).
MAINTAINER="${DEBFULLNAME:-tcpdiag maintainers} <${DEBEMAIL:-maintainers@tcpdiag.example.org}>"
# A fixed date keeps the man page and the changelog byte-identical for one commit.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 1)}"

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
PKG="$STAGE/pkg"
LIB="$PKG/usr/lib/tcpdiag"
DOC="$PKG/usr/share/doc/tcpdiag"
mkdir -p "$LIB/dist" "$LIB/native/build/Release" "$PKG/usr/bin" "$PKG/lib/systemd/system" "$PKG/etc/tcpdiag" \
  "$PKG/usr/share/man/man1" "$PKG/usr/share/bash-completion/completions" "$DOC/examples" "$PKG/DEBIAN"

log "staging $VERSION for $ARCH (Node.js $NODE_MAJOR)"
# The program without its tests: compiled unit tests sit beside the code in dist/src.
cp -a dist/src dist/fast "$LIB/dist/"
find "$LIB/dist" \( -name '*.test.js' -o -name '*.test.js.map' \) -delete
cp -a package.json package-lock.json deploy "$LIB/"
cp -a tcp_diag.conf "$LIB/"
if [ -f native/build/Release/tcpdiag.node ]; then
  install -m 0644 native/build/Release/tcpdiag.node "$LIB/native/build/Release/"
else
  log "native addon not built: the package falls back to ss and /proc (npm run install builds it)"
fi
# Production dependencies only, pruned offline from this checkout's node_modules (what the
# build and the tests ran with), never fetched again.
cp -a node_modules "$LIB/"
(cd "$LIB" && npm prune --omit=dev --offline --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
# What a running program never reads: build trees of the native modules, sources, docs, tests.
# Of a native module's build tree only the binding itself is loaded (better-sqlite3 keeps 13 MB
# of SQLite sources and objects there).
find "$LIB/node_modules" -path '*/build/*' -type f ! -regex '.*/build/Release/[^/]*\.node' -delete
find "$LIB/node_modules" -path '*/build/Release/test_extension.node' -delete
find "$LIB/node_modules" \( -name deps -path '*/better-sqlite3/deps' -o -name src -path '*/better-sqlite3/src' \) -prune -exec rm -rf {} +
find "$LIB/node_modules" -type d \( -name test -o -name tests -o -name docs -o -name example -o -name examples \) -prune -exec rm -rf {} +
find "$LIB/node_modules" \( -name '*.md' -a ! -iname 'license*' \) -delete
find "$LIB/node_modules" -name '.*' -type f -delete
find "$LIB/node_modules" -type d -empty -delete
find "$LIB" -name '*.node' -exec strip --strip-unneeded {} +
# Files 0644 and directories 0755, owned by root (dpkg-deb --root-owner-group); only the bins run.
find "$PKG" -type d -exec chmod 0755 {} +
find "$LIB" -type f -exec chmod 0644 {} +
chmod 0755 "$LIB/dist/src/cli/launcher.cjs" "$LIB/dist/src/cli/main.js"
# Modules' own command-line scripts (a #! line) stay executable, as npm installs them.
find "$LIB/node_modules" -type f -name '*.js' -exec sh -c 'for f; do head -c2 "$f" | grep -q "#!" && chmod 0755 "$f"; done; true' sh {} +
ln -s ../lib/tcpdiag/dist/src/cli/launcher.cjs "$PKG/usr/bin/tcpdiag"

install -m 0644 deploy/tcpdiag.service "$PKG/lib/systemd/system/tcpdiag.service"
install -m 0644 deploy/tcp_diag.conf "$PKG/etc/tcpdiag/tcp_diag.conf"
node dist/src/cli/launcher.cjs manpage | gzip -9n > "$PKG/usr/share/man/man1/tcpdiag.1.gz"
node dist/src/cli/launcher.cjs completion bash > "$PKG/usr/share/bash-completion/completions/tcpdiag"
chmod 0644 "$PKG/usr/share/man/man1/tcpdiag.1.gz" "$PKG/usr/share/bash-completion/completions/tcpdiag"
install -m 0644 tcp_diag.conf "$DOC/tcp_diag.conf.example"
install -m 0644 deploy/prometheus.yml "$DOC/examples/prometheus.yml"
install -m 0644 deploy/grafana/tcpdiag.json "$DOC/examples/grafana-tcpdiag.json"
cat > "$DOC/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tcpdiag
Source: https://github.com/tcpdiag/tcpdiag

Files: *
Copyright: 2026 The tcpdiag authors
License: MIT

Files: usr/lib/tcpdiag/node_modules/*
Copyright: the authors of each module (see its package.json and LICENSE file)
License: MIT or as stated in each module's LICENSE file

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files (the "Software"), to deal in the Software without
 restriction, including without limitation the rights to use, copy, modify, merge, publish,
 distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
EOF
chmod 0644 "$DOC/copyright"
{
  printf 'tcpdiag (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n' "$VERSION" "$(git rev-parse --short HEAD 2>/dev/null || echo 'a source tree')"
  printf ' -- %s  %s\n' "$MAINTAINER" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$DOC/changelog.Debian.gz"
chmod 0644 "$DOC/changelog.Debian.gz"

mkdir -p "$PKG/usr/share/lintian/overrides"
cat > "$PKG/usr/share/lintian/overrides/tcpdiag" <<'EOF'
# Not uploaded to Debian: there is no ITP bug for the first changelog entry to close.
tcpdiag: initial-upload-closes-no-bugs
# The launcher's "#!/usr/bin/env -S node --min-semi-space-size=16 --no-memory-reducer": env -S is coreutils >= 8.30
# (Debian 12 has 9.1); the flags cut the idle agent's garbage-collection work (launcher.cts says by how much).
tcpdiag: unusual-interpreter -S [usr/lib/tcpdiag/dist/src/cli/launcher.cjs]
EOF
chmod 0644 "$PKG/usr/share/lintian/overrides/tcpdiag"
echo /etc/tcpdiag/tcp_diag.conf > "$PKG/DEBIAN/conffiles"
# The maintainer scripts honour DPKG_ROOT (dpkg --root with --force-script-chrootless, as the
# test installs it): paths under it, and no systemctl for a root that is not the running system.
cat > "$PKG/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# The agent runs with CAP_SYS_PTRACE and friends (see the unit): it is enabled by the operator,
# not by the installation.
set -e
if [ "$1" = configure ]; then
  install -d -m 0700 "${DPKG_ROOT:-}/var/lib/tcpdiag"
  if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    # An upgrade restarts an agent that was running (deb-systemd-invoke: init-system-helpers).
    if [ -n "$2" ] && command -v deb-systemd-invoke >/dev/null; then deb-systemd-invoke try-restart tcpdiag.service || true; fi
  fi
  if [ -z "$2" ]; then
    echo "tcpdiag: start the agent with: systemctl enable --now tcpdiag (then http://127.0.0.1:9477/metrics)"
  fi
fi
exit 0
EOF
cat > "$PKG/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && command -v deb-systemd-invoke >/dev/null; then
  deb-systemd-invoke stop tcpdiag.service || true
fi
exit 0
EOF
cat > "$PKG/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  # The history, the token and the alert state: kept on remove, gone on purge.
  rm -rf "${DPKG_ROOT:-}/var/lib/tcpdiag"
fi
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
EOF
chmod 0755 "$PKG/DEBIAN/postinst" "$PKG/DEBIAN/prerm" "$PKG/DEBIAN/postrm"

INSTALLED_KB="$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)"
cat > "$PKG/DEBIAN/control" <<EOF
Package: tcpdiag
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_KB
Depends: nodejs (>= $NODE_MAJOR), nodejs (<< $((NODE_MAJOR + 1))), libc6, iproute2, tcpdump
Recommends: bpftrace, nftables, iptables
Suggests: tshark, prometheus
Section: net
Priority: optional
Homepage: https://github.com/tcpdiag/tcpdiag
Description: TCP debugging assistant and always-on agent for Linux servers
 tcpdiag shows every TCP connection and what the kernel does to it (sockets
 with tcp_info, kernel events, packet captures, offline pcap analysis), finds
 what is wrong and says why and what to change, alerts on held thresholds and
 lets you reproduce and load-test a service on purpose.
 .
 The agent (tcpdiag serve, tcpdiag.service) keeps history in SQLite and serves
 Prometheus /metrics and a JSON API on 127.0.0.1:9477.
EOF
(cd "$PKG" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/conffiles" "$PKG/DEBIAN/md5sums"

mkdir -p "$OUTDIR"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
log "built $DEB ($(du -h "$DEB" | cut -f1), $INSTALLED_KB KiB installed)"
echo "$DEB"
