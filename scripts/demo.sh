#!/usr/bin/env bash
# The Lifeboat demo: installs what is missing (Debian packages, npm
# packages), builds, starts the prod and dev sandbox clusters with the sample
# shop application, captures namespace shop from prod with its volume data
# into a local repository, shows the snapshot, and keeps the clusters
# running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

LIFEBOAT_SETUP_S3="${LIFEBOAT_SETUP_S3:-0}" LIFEBOAT_SETUP_VSCODE="${LIFEBOAT_SETUP_VSCODE:-0}" bash scripts/setup.sh
npm run --silent build >/dev/null

state=.lifeboat-sandbox
mkdir -p "$state"
export KUBECONFIG="$PWD/$state/kubeconfig"
export LIFEBOAT_REPOSITORY="$PWD/$state/repo"
lifeboat() { node dist/worker.js "$@"; }

# The demo repository's passphrase: yours from LIFEBOAT_PASSWORD, or a random
# one kept in a private file next to the repository (never printed).
if [ -z "${LIFEBOAT_PASSWORD:-}" ]; then
  if [ ! -s "$state/passphrase" ]; then
    (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))' > "$state/passphrase")
  fi
  LIFEBOAT_PASSWORD="$(cat "$state/passphrase")"
fi
export LIFEBOAT_PASSWORD

log="$state/sandbox.log"
: > "$log"
npx tsx test/sandbox/main.ts --kubeconfig "$KUBECONFIG" "$@" > >(tee -a "$log") 2>&1 &
sandbox=$!
stop() { kill -INT "$sandbox" 2>/dev/null || true; wait "$sandbox" 2>/dev/null || true; }
trap stop INT TERM
trap 'stop; exit 1' ERR

for _ in $(seq 1 600); do
  grep -q '^sandbox ready' "$log" && break
  if ! kill -0 "$sandbox" 2>/dev/null; then echo "the sandbox clusters did not start; see $log" >&2; exit 1; fi
  sleep 0.2
done
grep -q '^sandbox ready' "$log" || { echo "the sandbox clusters did not become ready in 2 minutes; see $log" >&2; stop; exit 1; }

kubectl wait --for=jsonpath='{.status.phase}'=Running pod/db-0 -n shop --timeout=60s >/dev/null

[ -f "$LIFEBOAT_REPOSITORY/config" ] || lifeboat repo init
echo
echo "== lifeboat capture --context sandbox-prod -n shop (objects and volume data)"
lifeboat capture --context sandbox-prod -n shop --tag demo
echo
echo "== lifeboat show latest"
lifeboat show latest

cat <<TEXT

The sandbox clusters keep running until Ctrl-C. In another terminal:

  export KUBECONFIG=$KUBECONFIG LIFEBOAT_REPOSITORY=$LIFEBOAT_REPOSITORY
  export LIFEBOAT_PASSWORD="\$(cat $PWD/$state/passphrase)"   # unless you set your own
  node dist/worker.js snapshots
  kubectl get deploy,sts,pvc,pods -n shop

TEXT
trap - ERR
wait "$sandbox" || true
