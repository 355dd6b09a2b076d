#!/usr/bin/env bash
# tests/common/test_rdlmctl.sh [BUILD_DIR]: `rdlmctl up` / `rdlmctl down` with a fake daemon
# (tests/common/fake_rdlmd), on 127.0.0.1 only.  BUILD_DIR (or $RDLM_BUILD, default build)
# holds master/rdlmctl; `make check` runs this through the wrapper $(BUILD)/tests/common/
# test_rdlmctl.  Every rdlmctl call is bounded by timeout(1); the EXIT trap stops whatever
# is left, so no process outlives the test.  Prints "rdlmctl: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${RDLM_BUILD:-build}}
ctl=$(realpath "$build/master/rdlmctl")
export RDLMD=$here/fake_rdlmd
unset FAKE_RDLMD_FAIL_NODE FAKE_RDLMD_IGNORE_TERM FAKE_RDLMD_QUIET RDLM_CONFIG
work=$(realpath "$(mktemp -d /tmp/rdlmctl-test.XXXXXX)")
dir=$work/a
pass=0
fail=0
out=
rc=0

ok() {
    pass=$((pass + 1))
    echo "ok   $1"
}
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    [ -n "$out" ] && sed 's/^/     | /' <<<"$out"
}
check() { # check DESCRIPTION 'SHELL CONDITION' (evaluated)
    if eval "$2"; then ok "$1"; else bad "$1"; fi
}
run() { # run ARGS...: out = stdout+stderr, rc = exit status
    out=$(timeout 60 "$ctl" "$@" 2>&1)
    rc=$?
}
alive() { # a live, non-zombie process
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
ours() { # pids of live processes started with a cluster.ini under $work
    local f p
    for f in $(grep -alF -- "$work/" /proc/[0-9]*/cmdline 2>/dev/null); do
        p=${f#/proc/}
        p=${p%/cmdline}
        [ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] && alive "$p" && echo "$p"
    done
}
cleanup() {
    local d p
    for d in "$work"/*/; do
        timeout 30 "$ctl" down --dir "$d" >/dev/null 2>&1
    done
    for p in $(ours); do kill -9 "$p" 2>/dev/null; done
    [ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
contains() { grep -qF -- "$2" <<<"$1"; }

# --- usage
run --help
check "--help prints usage" '[ "$rc" = 0 ] && contains "$out" "usage: rdlmctl"'
run up 0
check "up 0 is bad usage (exit 2)" '[ "$rc" = 2 ]'
run up 2 --transport carrier-pigeon
check "bad --transport is bad usage" '[ "$rc" = 2 ]'
run frobnicate
check "unknown command is bad usage" '[ "$rc" = 2 ]'

# --- up 3 nodes x 2 shards
run up 3 --shards 2 --dir "$dir"
check "up 3 exits 0" '[ "$rc" = 0 ]'
check "up prints the cluster line" \
    'contains "$out" "rdlm: 3-node cluster up (tcp), config $dir/cluster.ini"'
check "up prints the export line" 'contains "$out" "export RDLM_CONFIG=$dir/cluster.ini"'
check "up says how to stop it" 'contains "$out" "rdlmctl down --dir $dir"'
check "cluster.ini written" '[ -f "$dir/cluster.ini" ]'
check "cluster.ini has 3 nodes with 2 shards" \
    '[ "$(grep -c "^\[node " "$dir/cluster.ini")" = 3 ] && grep -q "^shards = 2" "$dir/cluster.ini"'
ports=($(sed -n 's/^port = //p' "$dir/cluster.ini"))
check "ports are consecutive ranges" \
    '[ "${#ports[@]}" = 3 ] && [ $((ports[1] - ports[0])) = 2 ] && [ $((ports[2] - ports[1])) = 2 ]'
npid=0
for i in 1 2 3; do
    pid=$(cat "$dir/node-$i.pid" 2>/dev/null)
    [ -n "$pid" ] && alive "$pid" && npid=$((npid + 1))
done
check "3 pid files of live daemons" '[ "$npid" = 3 ]'
nopen=0
for p in "${ports[@]}"; do port_open "$p" && nopen=$((nopen + 1)); done
check "every node listens on its shard-0 port" '[ "$nopen" = 3 ]'
check "daemons logged to node-I.log" 'grep -q "rdlmd: ready" "$dir/node-2.log"'

run up 3 --dir "$dir"
check "up again fails (exit 1)" '[ "$rc" = 1 ]'
check "up again says already running, with a hint" \
    'contains "$out" "already running" && contains "$out" "rdlmctl down --dir $dir"'

# --- down
pids=$(cat "$dir"/node-*.pid)
run down --dir "$dir"
check "down exits 0" '[ "$rc" = 0 ] && contains "$out" "stopped 3 nodes"'
check "down removes the pid files" '[ -z "$(ls "$dir"/node-*.pid 2>/dev/null)" ]'
left=0
for pid in $pids; do alive "$pid" && left=$((left + 1)); done
check "down leaves no daemon" '[ "$left" = 0 ] && [ -z "$(ours)" ]'
run down --dir "$dir"
check "down again is a no-op (exit 0)" '[ "$rc" = 0 ] && contains "$out" "no cluster running"'
run down --dir "$work/never-created"
check "down of a missing dir is a no-op" '[ "$rc" = 0 ]'

# --- a node that fails to start
FAKE_RDLMD_FAIL_NODE=2 run up 3 --dir "$work/b"
check "a failing node fails up (exit 1)" '[ "$rc" = 1 ]'
check "the failure names the node and status" \
    'contains "$out" "node 2 failed to start (exited with status 3)"'
check "the failure shows the node's log" 'contains "$out" "fake failure for the test"'
check "the other nodes are stopped" '[ -z "$(ours)" ] && [ -z "$(ls "$work"/b/*.pid 2>/dev/null)" ]'

# --- readiness by an open port (no ready line)
FAKE_RDLMD_QUIET=1 run up 1 --dir "$work/c"
check "ready by open port" '[ "$rc" = 0 ] && contains "$out" "1-node cluster up (tcp)"'
cport=$(sed -n 's/^port = //p' "$work/c/cluster.ini")

# --- --base-port on a busy port
run up 1 --dir "$work/d" --base-port "$cport"
check "--base-port on a busy port fails" '[ "$rc" = 1 ] && contains "$out" "port $cport"'
run down --dir "$work/c"
check "down (quiet node)" '[ "$rc" = 0 ] && [ -z "$(ours)" ]'

# --- a daemon that ignores SIGTERM is killed
FAKE_RDLMD_IGNORE_TERM=1 run up 2 --dir "$work/e"
check "up (node ignoring SIGTERM)" '[ "$rc" = 0 ]'
run down --dir "$work/e"
check "down SIGKILLs a daemon that ignores SIGTERM" \
    '[ "$rc" = 0 ] && contains "$out" "ignored SIGTERM" && [ -z "$(ours)" ]'

# --- a stale pid file naming an unrelated process
mkdir -p "$work/f"
sleep 60 &
sleeper=$!
echo "$sleeper" >"$work/f/node-7.pid"
run down --dir "$work/f"
check "a stale pid file is not a cluster" '[ "$rc" = 0 ] && contains "$out" "no cluster running"'
check "an unrelated process is never killed" 'alive "$sleeper"'
check "the stale pid file is removed" '[ ! -e "$work/f/node-7.pid" ]'

# --- rdma without a device
if [ ! -d /sys/class/infiniband ] || [ -z "$(ls /sys/class/infiniband)" ]; then
    run up 1 --transport rdma --dir "$work/g"
    check "rdma without a device fails with a hint" '[ "$rc" = 1 ] && contains "$out" "soft-roce"'
fi

# --- status without daemons' control client: a config error names the file
run status --config "$work/none.ini"
check "status with a missing config fails" '[ "$rc" = 1 ] && contains "$out" "$work/none.ini"'

check "no process left behind" '[ -z "$(ours)" ]'
echo "rdlmctl: $pass passed, $fail failed"
[ "$fail" = 0 ]
