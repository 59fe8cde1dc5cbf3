#!/usr/bin/env bash
# Installs tcpdiag's bash completion and man page, both generated from the built CLI's command
# tree (tcpdiag completion bash, tcpdiag manpage). Idempotent: a file whose content is already
# the same is left alone. scripts/setup.sh runs it after the build; DESTDIR (for packaging and
# tests) puts everything under another root.
#   bash completion: /usr/share/bash-completion/completions/tcpdiag when bash-completion is
#                    installed (its loader reads that directory), else /etc/bash_completion.d/
#   man page:        /usr/local/share/man/man1/tcpdiag.1
set -euo pipefail
cd "$(dirname "$0")/.."
DESTDIR="${DESTDIR:-}"
CLI=(node dist/src/cli/launcher.cjs)

log() { printf 'install-shell-docs: %s\n' "$*" >&2; }

if [ ! -f dist/src/cli/launcher.cjs ]; then
  log "build first: npm run build"
  exit 1
fi

if [ -d /usr/share/bash-completion/completions ]; then
  completion_dir="$DESTDIR/usr/share/bash-completion/completions"
else
  completion_dir="$DESTDIR/etc/bash_completion.d"
fi
man_dir="$DESTDIR/usr/local/share/man/man1"

# install_file NAME DEST: stdin becomes DEST unless DEST already holds the same bytes.
install_file() {
  local tmp
  tmp="$(mktemp)"
  cat > "$tmp"
  mkdir -p "$(dirname "$2")"
  if [ -f "$2" ] && cmp -s "$tmp" "$2"; then
    rm -f "$tmp"
    log "$1 up to date: $2"
    return 0
  fi
  install -m 0644 "$tmp" "$2"
  rm -f "$tmp"
  log "installed $1: $2"
}

"${CLI[@]}" completion bash | install_file "bash completion" "$completion_dir/tcpdiag"
# A fixed date keeps the page byte-identical across runs of the same version.
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 1)" "${CLI[@]}" manpage | install_file "man page" "$man_dir/tcpdiag.1"
if [ -z "$DESTDIR" ] && command -v mandb >/dev/null 2>&1; then
  mandb -q /usr/local/share/man 2>/dev/null || true
fi
