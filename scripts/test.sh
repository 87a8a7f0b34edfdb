#!/usr/bin/env bash
# The test command of the README: installs what is missing, then runs lint,
# the unit tests and the integration tests (sandbox clusters, etcd, Ceph RGW).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run lint
npm test
