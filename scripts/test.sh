#!/usr/bin/env bash
# The test command of the README: installs what is missing, then runs lint,
# the unit tests, the integration tests (sandbox clusters, etcd, Ceph RGW) and
# the extension tests inside a real VS Code and the browser end-to-end test
# (code-server, installed into a cache folder on first use, driven through
# headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run lint
npm test
npm run test:extension
npm run test:e2e
