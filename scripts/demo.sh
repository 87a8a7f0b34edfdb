#!/usr/bin/env bash
# The Lifeboat demo: installs what is missing (Debian packages, npm
# packages), then starts the prod and dev sandbox clusters with the sample
# shop application and leaves them running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

LIFEBOAT_SETUP_S3="${LIFEBOAT_SETUP_S3:-0}" bash scripts/setup.sh

cat <<'TEXT'

Starting the sandbox clusters. When "sandbox ready" appears, in another terminal:

  export KUBECONFIG=$PWD/.lifeboat-sandbox/kubeconfig
  kubectl get deploy,sts,pvc,pods -n shop
  kubectl exec -n shop db-0 -- ls /var/lib/postgresql/data/pgdata

and point Lifeboat (the VS Code extension or the `lifeboat` CLI) at the
contexts sandbox-prod and sandbox-dev.

TEXT
exec npx tsx test/sandbox/main.ts "$@"
