#!/usr/bin/env bash
# The Lifeboat demo: installs what is missing (Debian packages, npm
# packages, code-server on first use), builds, starts the prod and dev
# sandbox clusters with the sample shop application, captures namespace shop
# from prod with its volume data into a local repository, shows the
# snapshot, hydrates a dev copy of it (namespace shop-dev on the dev cluster,
# with the dev restore profile: plan, then restore), then serves VS Code in
# the browser (code-server) with the extension installed and pointed at the
# clusters and the repository. Runs until Ctrl-C, which stops the editor
# server and the clusters.
#
# Environment:
#   LIFEBOAT_DEMO_PORT   port of the editor on 127.0.0.1 (default: a free one)
#   LIFEBOAT_PASSWORD    the demo repository's passphrase (default: a random
#                        one kept in .lifeboat-sandbox/passphrase)
# Arguments are passed to the sandbox (see npm run sandbox -- --help).
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser-driven tests need chromium; the demo is opened in your own browser.
LIFEBOAT_SETUP_S3="${LIFEBOAT_SETUP_S3:-0}" LIFEBOAT_SETUP_VSCODE="${LIFEBOAT_SETUP_VSCODE:-1}" \
  LIFEBOAT_SETUP_BROWSER="${LIFEBOAT_SETUP_BROWSER:-0}" bash scripts/setup.sh
npm run --silent build >/dev/null

state=.lifeboat-sandbox
mkdir -p "$state"
export KUBECONFIG="$PWD/$state/kubeconfig"
export LIFEBOAT_REPOSITORY="$PWD/$state/repo"
lifeboat() { node dist/worker.js "$@"; }

# The demo repository's passphrase: yours from LIFEBOAT_PASSWORD, or a random
# one kept in a private file next to the repository (never printed).
passphrase_hint="in $PWD/$state/passphrase"
if [ -z "${LIFEBOAT_PASSWORD:-}" ]; then
  if [ ! -s "$state/passphrase" ]; then
    (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))' > "$state/passphrase")
  fi
  LIFEBOAT_PASSWORD="$(cat "$state/passphrase")"
else
  passphrase_hint="the one in your LIFEBOAT_PASSWORD"
fi
export LIFEBOAT_PASSWORD

sandbox=""
editor=""

alive() { [ -n "$1" ] && kill -0 -- "-$1" 2>/dev/null; }
# Waits up to $2 tenths of a second for process group $1 to end.
wait_gone() { for _ in $(seq 1 "$2"); do alive "$1" || return 0; sleep 0.1; done; ! alive "$1"; }

# Both servers run in process groups of their own (setsid), so stopping one
# ends everything it started: the editor's extension hosts and file watchers
# outlive its main process otherwise.
stop() {
  trap '' INT TERM HUP
  trap - ERR
  echo
  if alive "$editor"; then
    kill -TERM -- "-$editor" 2>/dev/null || true
    wait_gone "$editor" 50 || kill -KILL -- "-$editor" 2>/dev/null || true
  fi
  if alive "$sandbox"; then
    kill -INT -- "-$sandbox" 2>/dev/null || true
    wait_gone "$sandbox" 300 || kill -KILL -- "-$sandbox" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  echo "demo stopped"
}
# HUP: a closed terminal must not leave the servers, which have sessions of their own, running.
trap 'stop; exit 0' INT TERM HUP
trap 'echo "demo: the step at line $LINENO of scripts/demo.sh failed (output above); stopping" >&2; stop; exit 1' ERR

log="$state/sandbox.log"
: > "$log"
# tee -i: a Ctrl-C in the terminal must not cut the sandbox's goodbye short.
setsid npx tsx test/sandbox/main.ts --kubeconfig "$KUBECONFIG" "$@" > >(tee -i -a "$log") 2>&1 &
sandbox=$!

for _ in $(seq 1 600); do
  grep -q '^sandbox ready' "$log" && break
  if ! kill -0 "$sandbox" 2>/dev/null; then echo "the sandbox clusters did not start; see $log" >&2; exit 1; fi
  sleep 0.2
done
grep -q '^sandbox ready' "$log" || { echo "the sandbox clusters did not become ready in 2 minutes; see $log" >&2; exit 1; }

kubectl wait --for=jsonpath='{.status.phase}'=Running pod/db-0 -n shop --timeout=60s >/dev/null

[ -f "$LIFEBOAT_REPOSITORY/config" ] || lifeboat repo init
echo
echo "== lifeboat capture --context sandbox-prod -n shop (objects and volume data)"
lifeboat capture --context sandbox-prod -n shop --tag demo
echo
echo "== lifeboat show latest"
lifeboat show latest

# --- Hydrate a dev copy of shop from the snapshot ---------------------------
# The dev profile: one replica each, Secret values replaced by placeholders,
# LoadBalancer/NodePort Services made ClusterIP, cloud annotations and node
# placement dropped.
hydrate=(latest --to sandbox-dev --profile dev --namespace-mapping shop:shop-dev -n shop)
echo
echo "== lifeboat plan ${hydrate[*]}"
lifeboat plan "${hydrate[@]}"
echo
echo "== lifeboat restore ${hydrate[*]} --yes"
lifeboat restore "${hydrate[@]}" --yes
echo
kubectl --context sandbox-dev wait --for=jsonpath='{.status.phase}'=Running pod/db-0 -n shop-dev --timeout=120s >/dev/null
echo "== kubectl --context sandbox-dev get all,pvc -n shop-dev"
kubectl --context sandbox-dev get all,pvc -n shop-dev

# --- VS Code in the browser ------------------------------------------------
echo
echo "== VS Code with the Lifeboat extension (code-server)"
code_server="$(LIFEBOAT_SETUP_BROWSER="${LIFEBOAT_SETUP_BROWSER:-0}" bash scripts/code-server.sh | tail -n 1)"

vscode="$PWD/$state/vscode"
extensions="$vscode/extensions"
user_data="$vscode/user-data"
workspace="$PWD/$state/workspace"
mkdir -p "$extensions" "$user_data/User" "$workspace" "$vscode/xdg"

# Package and install the extension only when what goes into it changed.
inputs_hash() {
  local paths=() p
  # What .vscodeignore lets into the archive.
  for p in package.json README.md LICENSE CHANGELOG.md dist/extension.js dist/worker.js dist/etcd3-proto dist/webviews media schemas; do
    [ -e "$p" ] && paths+=("$p")
  done
  find "${paths[@]}" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
stamp="$vscode/installed.sha256"
hash="$(inputs_hash)"
if [ ! -f dist/lifeboat.vsix ] || [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ] \
  || ! ls "$extensions" | grep -q '^lifeboat-dev\.lifeboat-'; then
  echo "packaging dist/lifeboat.vsix and installing it"
  npx vsce package --no-dependencies --no-rewrite-relative-links --out dist/lifeboat.vsix >"$vscode/package.log" 2>&1 \
    || { cat "$vscode/package.log" >&2; exit 1; }
  XDG_CONFIG_HOME="$vscode/xdg/config" XDG_DATA_HOME="$vscode/xdg/data" XDG_CACHE_HOME="$vscode/xdg/cache" \
    "$code_server" --extensions-dir "$extensions" --user-data-dir "$user_data" \
    --install-extension dist/lifeboat.vsix --force >/dev/null
  echo "$hash" > "$stamp"
fi

# User settings: kept as they are apart from the ones the demo needs.
KUBECONFIG_PATH="$KUBECONFIG" REPO_PATH="$LIFEBOAT_REPOSITORY" SETTINGS="$user_data/User/settings.json" node -e '
  const fs = require("fs");
  const file = process.env.SETTINGS;
  let settings = {};
  try { settings = JSON.parse(fs.readFileSync(file, "utf8")); } catch {}
  Object.assign(settings, {
    "lifeboat.kubeconfig": process.env.KUBECONFIG_PATH,
    "lifeboat.repositories": [{ name: "Demo repository", location: process.env.REPO_PATH }],
    "workbench.startupEditor": "none",
    "security.workspace.trust.enabled": false,
    "telemetry.telemetryLevel": "off",
    "git.openRepositoryInParentFolders": "never",
  });
  fs.writeFileSync(file, JSON.stringify(settings, null, 2) + "\n");
'

cat > "$workspace/README.md" <<TEXT
# Lifeboat demo

Open Lifeboat in the activity bar. The Clusters view lists the sandbox
contexts (sandbox-prod, sandbox-dev and their -restricted variants) from
$KUBECONFIG; the Snapshots view lists the demo repository at
$LIFEBOAT_REPOSITORY, with the capture of namespace shop just made.

The repository's passphrase is asked for once: it is $passphrase_hint.
TEXT

port="${LIFEBOAT_DEMO_PORT:-}"
if [ -z "$port" ]; then
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})')"
fi
url="http://127.0.0.1:$port/"
editor_log="$state/code-server.log"
# The editor gets no passphrase from the environment: the extension asks for it.
(
  for v in $(compgen -e); do case "$v" in VSCODE_*|ELECTRON_RUN_AS_NODE) unset "$v" ;; esac; done
  unset LIFEBOAT_PASSWORD LIFEBOAT_REPOSITORY
  export XDG_CONFIG_HOME="$vscode/xdg/config" XDG_DATA_HOME="$vscode/xdg/data" XDG_CACHE_HOME="$vscode/xdg/cache"
  cd "$workspace"
  exec setsid "$code_server" --auth none --bind-addr "127.0.0.1:$port" \
    --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
    --user-data-dir "$user_data" --extensions-dir "$extensions" "$workspace"
) > "$editor_log" 2>&1 &
editor=$!

healthy() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "${url}healthz"; }
for _ in $(seq 1 120); do
  healthy && break
  kill -0 "$editor" 2>/dev/null || { echo "code-server stopped before it answered; see $editor_log" >&2; tail -n 20 "$editor_log" >&2; exit 1; }
  sleep 0.5
done
healthy || { echo "code-server did not answer ${url}healthz in a minute; see $editor_log" >&2; exit 1; }

cat <<TEXT

==============================================================================
  Open $url — Lifeboat is in the activity bar; prod and dev are in its Clusters view
==============================================================================
  The Snapshots view shows the capture above. The extension asks once for the
  demo repository's passphrase: it is $passphrase_hint.
  Editor log: $editor_log

The sandbox clusters and the editor keep running until Ctrl-C. In another terminal:

  export KUBECONFIG=$KUBECONFIG LIFEBOAT_REPOSITORY=$LIFEBOAT_REPOSITORY
  export LIFEBOAT_PASSWORD="\$(cat $PWD/$state/passphrase)"   # unless you set your own
  node dist/worker.js snapshots
  node dist/worker.js plan latest --to sandbox-dev --profile dev -n shop --namespace-mapping shop:shop-dev --output diff
  kubectl get deploy,sts,pvc,pods -n shop
  kubectl --context sandbox-dev get deploy,sts,pvc,pods -n shop-dev

TEXT
trap - ERR
# Waits in short steps so Ctrl-C is handled at once; either server ending stops the demo.
while kill -0 "$sandbox" 2>/dev/null && kill -0 "$editor" 2>/dev/null; do
  sleep 1 & wait $! || true
done
echo "$(kill -0 "$editor" 2>/dev/null && echo "the sandbox clusters" || echo "code-server") stopped; stopping the demo" >&2
stop
exit 1
