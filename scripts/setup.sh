#!/usr/bin/env bash
# Installs what Lifeboat's demo and tests need on a fresh Debian machine:
# Debian packages (etcd, bubblewrap for sandbox pod exec, Ceph RGW as the S3
# server of the tests, restic as a benchmark baseline, what code-server needs,
# chromium for the extension tests) and the npm packages.
#   LIFEBOAT_SETUP_S3=0       skip the S3 server and restic
#   LIFEBOAT_SETUP_VSCODE=0   skip code-server's packages
#   LIFEBOAT_SETUP_BROWSER=0  skip chromium
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v tar >/dev/null || need+=(tar)
if [ "${LIFEBOAT_SETUP_S3:-1}" = 1 ]; then
  command -v radosgw >/dev/null || need+=(radosgw)
  command -v ceph-mon >/dev/null || need+=(ceph-mon)
  command -v ceph-osd >/dev/null || need+=(ceph-osd)
  command -v ceph >/dev/null || need+=(ceph-common)
  command -v uuidgen >/dev/null || need+=(uuid-runtime)
  command -v curl >/dev/null || need+=(curl)
  command -v restic >/dev/null || need+=(restic)
fi
# A real VS Code (code-server, scripts/code-server.sh), for the demo and the
# extension tests: its kerberos addon needs the krb5 headers, its search rg.
if [ "${LIFEBOAT_SETUP_VSCODE:-1}" != 0 ]; then
  command -v krb5-config >/dev/null || need+=(libkrb5-dev)
  command -v rg >/dev/null || need+=(ripgrep)
fi
# Only the tests drive the editor from a browser; the demo leaves that to yours.
if [ "${LIFEBOAT_SETUP_BROWSER:-1}" != 0 ]; then
  command -v chromium >/dev/null || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
