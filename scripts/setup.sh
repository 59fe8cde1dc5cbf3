#!/usr/bin/env bash
# Sets up tcpdiag on a Debian 12 machine, as root: the Debian packages it drives (tcpdump,
# iproute2, nftables, hping3, tshark, bpftrace, wrk) and builds with, the npm packages, the
# native addon, the TypeScript build, a mounted tracefs, the man page and bash completion, and
# /usr/local/bin/tcpdiag linked to this checkout's bin. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
# Tools tcpdiag drives or its tests use as reference/peers (see DEVELOPERS.md).
PACKAGES=(
  tcpdump iproute2 nftables hping3 tshark bpftrace wrk
  # fault delay queues packets with iptables' NFQUEUE target; its tests compare with ping
  iptables iputils-ping
  procps psmisc openssl ca-certificates
  python3 make g++
  # the man page and bash completion setup installs, and the shells the completion tests drive
  man-db groff-base bash-completion zsh fish
  # the alert tests push to a real Alertmanager (started as a plain process on a loopback port)
  prometheus-alertmanager
  # the agent tests have a real Prometheus scrape `tcpdiag serve` (a plain process, loopback port)
  prometheus
  # the fleet tests push to real fleet engines: remote write to VictoriaMetrics (and Prometheus),
  # events to ClickHouse over HTTP (plain processes with their own configs, temp data dirs)
  victoria-metrics clickhouse-server clickhouse-client
  # the dashboard tests drive Debian's Chromium through playwright-core (never a downloaded
  # browser); a CJK font so the Chinese screenshots show glyphs, not boxes
  chromium fonts-wqy-microhei
  # the Debian package test (scripts/build-deb.sh) checks the .deb with lintian
  lintian
)

log() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "run as root (it installs Debian packages and mounts tracefs): sudo $0"
  exit 1
fi

if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  log "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))"
  log "install Node.js 20+ and rerun this script"
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  # tshark asks whether non-root users may capture; preseed "no" so the install never waits.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Kernel tracepoints live in tracefs; some images boot without it mounted.
if [ ! -e /sys/kernel/tracing/trace_pipe ] && [ -d /sys/kernel/tracing ]; then
  log "mounting tracefs at /sys/kernel/tracing"
  mount -t tracefs nodev /sys/kernel/tracing || log "could not mount tracefs: kernel tracing will be unavailable"
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
npm run --silent build
scripts/install-shell-docs.sh
# `tcpdiag` on PATH is this checkout's bin, run directly (not through npx, which does not pass
# signals on): scripts/link-bin.sh.
./scripts/link-bin.sh /usr/local/bin
log "ready: try 'tcpdiag --help'"
