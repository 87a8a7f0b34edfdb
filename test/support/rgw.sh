#!/usr/bin/env bash
# A throwaway real S3 server for tests: Ceph (one monitor, one OSD, no manager,
# no authentication) with the RADOS Gateway in front, all on 127.0.0.1.
#
#   rgw.sh start|stop|status
#
# Environment (all optional except where a caller needs fixed values):
#   BASE          state directory (removed and recreated by start)
#   MON_PORT      monitor port                 RGW_PORT  S3 port
#   OSD_PORT_MIN / OSD_PORT_MAX                ports the OSD may bind (~60)
#   OSD_STORE     memstore (RAM, fastest start) | bluestore (sparse file, for big data)
#   ACCESS_KEY / SECRET_KEY                    the S3 user's keys (never printed)
#
# Facts this relies on (Ceph 16.2): auth "none" needs "ms mon client mode =
# crc" or radosgw loops on get_initial_auth_request -13; a short paxos
# interval and pools created before radosgw starts bring start-up from ~20 s
# to ~4 s; a graceful radosgw exit takes seconds, so stop SIGKILLs the
# recorded PIDs, gateway first (with the monitor gone first it would hang).
set -euo pipefail

BASE=${BASE:-${TMPDIR:-/tmp}/lifeboat-rgw}
MON_PORT=${MON_PORT:-27400}
RGW_PORT=${RGW_PORT:-27480}
OSD_PORT_MIN=${OSD_PORT_MIN:-27410}
OSD_PORT_MAX=${OSD_PORT_MAX:-27470}
OSD_STORE=${OSD_STORE:-memstore}
CONF=(--conf "$BASE/ceph.conf")
STARTED_NS=$(date +%s%N)

log() { echo "rgw.sh [$(( ($(date +%s%N) - STARTED_NS) / 1000000 )) ms] $*" >&2; }
running() { local state; state=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${state#Z}" = "$state" ]; }

stop_all() {
  local entry name comm pidfile pid
  for entry in rgw:radosgw osd:ceph-osd mon:ceph-mon; do
    name=${entry%%:*}; comm=${entry#*:}; pidfile=$BASE/run/$name.pid
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile"); rm -f "$pidfile"
    # Only a PID that still runs the program we started: PIDs get reused.
    [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "$comm" ] || continue
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 100); do running "$pid" || break; sleep 0.05; done
  done
}

spawn() {
  local name=$1; shift
  "$@" </dev/null >"$BASE/log/$name.out" 2>&1 &
  echo $! >"$BASE/run/$name.pid"
}

fail() {
  log "$1"
  for f in "$BASE"/log/*.log "$BASE"/log/*.out; do
    [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  stop_all
  exit 1
}

start() {
  : "${ACCESS_KEY:?ACCESS_KEY must be set}" "${SECRET_KEY:?SECRET_KEY must be set}"
  stop_all
  rm -rf "$BASE"
  mkdir -p "$BASE"/{mon/ceph-a,osd/ceph-0,run,log,rgw}
  local fsid; fsid=$(uuidgen)
  cat >"$BASE/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
keyring = /dev/null
run dir = $BASE/run
admin socket = $BASE/run/\$name.asok
log file = $BASE/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon data avail crit = 0
paxos propose interval = 0.05
[mon.a]
mon data = $BASE/mon/ceph-a
[osd]
osd data = $BASE/osd/ceph-\$id
osd objectstore = $OSD_STORE
memstore device bytes = 4294967296
bluestore block create = true
bluestore block size = 21474836480
osd memory target = 1073741824
[client.rgw.a]
rgw data = $BASE/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw thread pool size = 64
CONF
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$BASE/monmap" >/dev/null || fail "monmaptool failed"
  ceph-mon "${CONF[@]}" -i a --mkfs --monmap "$BASE/monmap" >"$BASE/log/mon-mkfs.out" 2>&1 || fail "monitor mkfs failed"
  spawn mon ceph-mon "${CONF[@]}" -i a -f

  local uuid; uuid=$(uuidgen)
  ceph "${CONF[@]}" --connect-timeout 60 osd new "$uuid" >/dev/null 2>"$BASE/log/osd-new.out" || fail "monitor did not answer"
  ceph-osd "${CONF[@]}" -i 0 --mkfs --osd-uuid "$uuid" >"$BASE/log/osd-mkfs.out" 2>&1 || fail "OSD mkfs failed"
  spawn osd ceph-osd "${CONF[@]}" -i 0 -f

  # radosgw creates missing pools itself, but each creation stalls ~2 s.
  local pool
  for pool in .rgw.root default.rgw.{log,control,meta,buckets.index,buckets.data,buckets.non-ec}; do
    ceph "${CONF[@]}" osd pool create "$pool" 8 8 >/dev/null 2>&1 || true
    ceph "${CONF[@]}" osd pool application enable "$pool" rgw >/dev/null 2>&1 || true
  done
  local up=
  for _ in $(seq 600); do
    if ceph "${CONF[@]}" osd dump 2>/dev/null | grep -q '^osd.0 up'; then up=1; break; fi
    sleep 0.1
  done
  [ -n "$up" ] || fail "OSD did not come up"
  log "monitor and OSD up"

  spawn rgw radosgw "${CONF[@]}" -n client.rgw.a -f
  local ready=
  for _ in $(seq 1200); do
    if curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then ready=1; break; fi
    running "$(cat "$BASE/run/rgw.pid")" || fail "radosgw exited"
    sleep 0.05
  done
  [ -n "$ready" ] || fail "radosgw did not answer on port $RGW_PORT"
  radosgw-admin "${CONF[@]}" user create --uid=lifeboat --display-name=lifeboat \
    --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null 2>"$BASE/log/user-create.out" || fail "creating the S3 user failed"
  log "S3 ready at http://127.0.0.1:$RGW_PORT"
}

case "${1:-start}" in
  start) start ;;
  stop) stop_all; [ "${KEEP_BASE:-}" = 1 ] || rm -rf "$BASE" ;;
  status) ceph "${CONF[@]}" -s ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
