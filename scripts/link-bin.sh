#!/usr/bin/env bash
# Puts this checkout's `tcpdiag` on PATH: BIN_DIR/tcpdiag (default /usr/local/bin, on root's
# PATH on Debian) becomes a symlink to dist/src/cli/launcher.cjs, so `tcpdiag ...` runs the bin
# itself and signals reach it. Through npx they do not: measured, a SIGTERM to
# `npx tcpdiag stats --interval 1` ended npx and its `sh -c`, and left tcpdiag running.
# Idempotent: silent when the link already points here; replaces a link or file pointing
# elsewhere (saying so).
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir="${1:-/usr/local/bin}"
target="$PWD/dist/src/cli/launcher.cjs"
link="$bin_dir/tcpdiag"

if [ ! -f "$target" ]; then
  echo "link-bin: $target is missing: build first (npm run build)" >&2
  exit 1
fi
if [ -d "$link" ] && [ ! -L "$link" ]; then
  echo "link-bin: $link is a directory: remove it, then rerun" >&2
  exit 1
fi
if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then
  exit 0
fi
if [ -e "$link" ] || [ -L "$link" ]; then
  echo "link-bin: replacing $link (was $(readlink "$link" 2>/dev/null || echo 'a file'))" >&2
fi
mkdir -p "$bin_dir"
ln -sfn "$target" "$link"
echo "link-bin: $link -> $target" >&2
