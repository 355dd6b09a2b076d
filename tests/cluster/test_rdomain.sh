#!/usr/bin/env bash
# tests/cluster/test_rdomain.sh BUILD_DIR : recovery domains end to end (docs/protocol.md
# section 7; rdomain_client.c says what it checks).
#
# Starts `rdlmctl up 3 --shards 2` in a temporary directory, runs rdomain_client (which kills
# helper processes and, in its node-failure scenario, node 3's rdlmd), then checks that the
# other daemons are still running and logged no sanitizer report. The cluster is always
# stopped (trap); every wait is bounded. RDLM_RDOMAIN_KEEP=1 keeps the cluster directory;
# RDLM_RDOMAIN_TRANSPORT=rdma runs it over RDMA (test_rdomain_rdma, on rxe0 in soft-roce/).
set -u
transport=${RDLM_RDOMAIN_TRANSPORT:-tcp}
build=$(cd "${1:?usage: test_rdomain.sh BUILD_DIR}" && pwd)
ctl=$build/master/rdlmctl
client=$build/tests/cluster/rdomain_client
pass=0
fail=0

for b in "$ctl" "$client"; do
    if [ ! -x "$b" ]; then
        echo "rdomain: missing $b"
        echo "rdomain: 0 passed, 1 failed"
        exit 1
    fi
done

tmp=$(mktemp -d /tmp/rdlm-rdomain.XXXXXX)
cdir=$tmp/cluster
client_pid=

cleanup() {
    if [ -n "$client_pid" ]; then
        kill -KILL -- -"$client_pid" 2>/dev/null || kill -KILL "$client_pid" 2>/dev/null
        wait "$client_pid" 2>/dev/null
    fi
    if [ -d "$cdir" ]; then
        timeout 20 "$ctl" down --dir "$cdir" >/dev/null 2>&1
        local f p
        for f in "$cdir"/node-*.pid; do
            [ -e "$f" ] || continue
            p=$(cat "$f" 2>/dev/null)
            if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
                echo "rdomain: rdlmctl down left daemon $p running; killing it"
                kill -KILL "$p" 2>/dev/null
            fi
        done
    fi
    if [ "${RDLM_RDOMAIN_KEEP:-0}" = 1 ]; then
        echo "rdomain: cluster directory kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'echo "rdomain: interrupted"; exit 130' INT TERM

check() { # check NAME CONDITION-RESULT(0/1) [DETAIL]
    if [ "$2" = 0 ]; then
        echo "PASS $1"
        pass=$((pass + 1))
    else
        echo "FAIL $1${3:+: $3}"
        fail=$((fail + 1))
    fi
}

finish() {
    if [ "$fail" != 0 ] && [ -n "${cdir:-}" ]; then # what the daemons and the client said
        for f in "$cdir"/node-*.log "${err:-/dev/null}"; do
            [ -s "$f" ] && { echo "--- last lines of $(basename "$f"):"; tail -n 40 "$f"; }
        done
    fi
    echo "rdomain: $pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
}

if ! timeout 60 "$ctl" up 3 --shards 2 --transport "$transport" --dir "$cdir" >"$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"
    check "cluster up" 1
    finish
fi
export RDLM_CONFIG=$cdir/cluster.ini

out=$tmp/client.out
err=$tmp/client.err # RDLM_DEBUG: why a handle broke, shown if something failed
RDLM_DEBUG=1 setsid timeout -k 5 240 "$client" "$cdir" >"$out" 2>"$err" &
client_pid=$!
wait "$client_pid"
rc=$?
client_pid=
sed 's/^/    /' "$out"
while read -r verdict name; do
    case $verdict in
    PASS) check "$name" 0 ;;
    FAIL) check "$name" 1 ;;
    esac
done < <(grep -E '^(PASS|FAIL) ' "$out")
[ "$rc" = 0 ] || grep -qE '^FAIL ' "$out"
check "rdomain_client ran to the end (exit $rc)" $?
grep -q '^rdomain_client: [0-9]* passed' "$out"
check "rdomain_client printed its summary" $?
for n in 1 2; do
    p=$(cat "$cdir/node-$n.pid")
    kill -0 "$p" 2>/dev/null
    check "daemon node-$n still running" $?
done
! grep -qE "AddressSanitizer|runtime error|LeakSanitizer" "$cdir"/node-*.log
check "no sanitizer report in the daemon logs" $?
finish
