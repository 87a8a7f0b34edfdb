#!/usr/bin/env bash
# Installs code-server (a real VS Code, served to a browser) for the
# extension tests, once, into a cache folder, and prints the path of its
# executable on the last line of stdout. Progress goes to stderr.
#
# code-server 4.100.3 carries VS Code 1.100.3 and is the last line that runs
# on Node 20. It installs from npm; two of its install steps would reach the
# internet and are steered away from it here:
#  - @vscode/ripgrep's postinstall downloads rg from GitHub unless its archive
#    is already in its cache under the temp folder: Debian's rg is put there.
#  - node-pty's postinstall runs `npx node-gyp`, which asks before installing
#    unless npm_config_yes is set.
#
# Environment:
#   LIFEBOAT_CODE_SERVER_DIR   install folder
#                              (default ${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat/code-server-4.100.3)
#   LIFEBOAT_SETUP_APT=0       never call apt-get; fail naming the missing packages instead
set -euo pipefail

version=4.100.3
# The archive name @vscode/ripgrep 1.15.11 (the version VS Code 1.100 pins) looks for.
rg_cache_dir=vscode-ripgrep-cache-1.15.11
rg_archive=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

dir="${LIFEBOAT_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat/code-server-$version}"
bin="$dir/node_modules/.bin/code-server"
marker="$dir/.installed"

say() { echo "code-server: $*" >&2; }
fail() { echo "code-server: $*" >&2; exit 1; }

if [ -f "$marker" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)"
[ "$node_major" = 20 ] || fail "code-server $version needs Node 20 (found '${node_major:-no node}'); install Node 20 and retry"
[ "$(uname -m)" = x86_64 ] || fail "only x86_64 is prepared for (the ripgrep archive name is per architecture); found $(uname -m)"

# Debian packages: the kerberos addon's headers, rg for the ripgrep cache,
# and the browser the tests drive (not needed to serve the editor:
# LIFEBOAT_SETUP_BROWSER=0 leaves it out, as the demo does).
missing=()
command -v rg >/dev/null || missing+=(ripgrep)
command -v krb5-config >/dev/null || missing+=(libkrb5-dev)
if [ "${LIFEBOAT_SETUP_BROWSER:-1}" != 0 ]; then
  command -v chromium >/dev/null || missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${LIFEBOAT_SETUP_APT:-1}" = 0 ] || ! command -v apt-get >/dev/null; then
    fail "missing Debian packages: ${missing[*]}; install them (apt-get install ${missing[*]}) and retry"
  fi
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || fail "apt-get could not install ${missing[*]}"
fi

mkdir -p "$(dirname "$dir")"
# Two test runs starting at once must not install over each other.
exec 9>"$dir.lock"
flock 9
if [ -f "$marker" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

staging="$(mktemp -d "$dir.staging.XXXXXX")"
tmp="$(mktemp -d)"
trap 'rm -rf "$staging" "$tmp"' EXIT

mkdir -p "$tmp/$rg_cache_dir"
tar -czf "$tmp/$rg_cache_dir/$rg_archive" -C "$(dirname "$(command -v rg)")" rg

say "installing code-server $version into $dir (about a minute with a warm npm cache)"
started=$SECONDS
# npm runs install scripts as root only with unsafe_perm.
if ! (cd "$staging" \
  && echo '{"private":true}' > package.json \
  && TMPDIR="$tmp" npm_config_unsafe_perm=true npm_config_yes=true \
     npm install --no-audit --no-fund --no-save --loglevel=error "code-server@$version" >&2); then
  fail "npm install code-server@$version failed (output above); a registry that cannot be reached or a missing build tool (python3, make, g++) are the usual causes"
fi

# Whatever the cache lookup did, VS Code's search needs an rg binary here.
rg_bin="$staging/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
if [ ! -x "$rg_bin" ]; then
  mkdir -p "$(dirname "$rg_bin")"
  cp "$(command -v rg)" "$rg_bin"
fi
[ -x "$staging/node_modules/.bin/code-server" ] || fail "npm finished but $staging/node_modules/.bin/code-server is missing"

rm -rf "$dir"
mv "$staging" "$dir"
date -u +%FT%TZ > "$marker"
say "installed in $((SECONDS - started)) s"
echo "$bin"
