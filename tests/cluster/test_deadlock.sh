#!/usr/bin/env bash
# tests/cluster/test_deadlock.sh BUILD_DIR : the deadlock search end to end (docs/testing.md,
# docs/protocol.md section 5).
#
# Starts `rdlmctl up 3 --shards 2 --deadlock-wait MS` in a temporary directory, runs
# deadlock_client (planted cycles of two and three owners across masters on different nodes,
# a cycle of transactions spanning four processes and the same without xids, conversion
# deadlock with EDEADLK and CONVDEADLK, a long wait that is no deadlock, NODLCKWT, NODLCKBLK),
# then the "hostile" scenario (shard-to-shard messages from a stranger: a DL_CANCEL obeys the
# lock's stamp; malformed messages close only their connection), then checks that `rdlmctl
# deadlocks` lists every victim once and `rdlmctl status` counts them, and that no daemon
# crashed. The cluster is always stopped (trap); every wait is bounded.
#
# Environment: RDLM_DEADLOCK_WAIT_MS (default 300), RDLM_DEADLOCK_TRANSPORT (tcp, the default,
# or rdma on rxe), DL_BOUND_MS (search time allowed beyond deadlock_wait, default 2000),
# RDLM_DEADLOCK_KEEP=1 (keep the cluster directory). Prints "N passed, N failed".
set -u
build=$(cd "${1:?usage: test_deadlock.sh BUILD_DIR}" && pwd)
ctl=$build/master/rdlmctl
client=$build/tests/cluster/deadlock_client
wait_ms=${RDLM_DEADLOCK_WAIT_MS:-300}
transport=${RDLM_DEADLOCK_TRANSPORT:-tcp}
pass=0
fail=0

for b in "$ctl" "$client"; do
    if [ ! -x "$b" ]; then
        echo "deadlock: missing $b"
        echo "deadlock: 0 passed, 1 failed"
        exit 1
    fi
done

tmp=$(mktemp -d /tmp/rdlm-deadlock.XXXXXX)
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
                echo "deadlock: rdlmctl down left daemon $p running; killing it"
                kill -KILL "$p" 2>/dev/null
            fi
        done
    fi
    if [ "${RDLM_DEADLOCK_KEEP:-0}" = 1 ]; then
        echo "deadlock: cluster directory kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'echo "deadlock: interrupted"; exit 130' INT TERM

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
    echo "deadlock: $pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
}

if ! timeout 60 "$ctl" up 3 --shards 2 --transport "$transport" --deadlock-wait "$wait_ms" \
    --dir "$cdir" >"$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"
    check "cluster up" 1
    finish
fi
grep -q "^deadlock_wait_ms = $wait_ms\$" "$cdir/cluster.ini"
check "rdlmctl up --deadlock-wait writes deadlock_wait_ms" $?
export RDLM_CONFIG=$cdir/cluster.ini

# run_client OUT [SCENARIO...]: deadlock_client, bounded (300 s), its verdicts counted.
run_client() {
    local out=$1 rc
    shift
    setsid timeout -k 5 300 "$client" "$wait_ms" "$@" >"$out" 2>&1 &
    client_pid=$!
    wait "$client_pid"
    rc=$?
    client_pid=
    sed 's/^/    /' "$out"
    while read -r verdict name rest; do
        case $verdict in
        PASS) check "$name" 0 ;;
        FAIL) check "$name" 1 "$rest" ;;
        esac
    done < <(grep -E '^(PASS|FAIL) ' "$out")
    [ "$rc" = 0 ] || grep -qE '^FAIL ' "$out"
    check "deadlock_client${*:+ $*} ran to the end (exit $rc)" $?
}

out=$tmp/client.out
run_client "$out"
! grep -qE "malformed|unexpected|AddressSanitizer|runtime error" "$cdir"/node-*.log
check "no malformed or unexpected message, no sanitizer report in the daemon logs" $?

hostile=$tmp/hostile.out
run_client "$hostile" hostile

# Every victim is in `rdlmctl deadlocks`, once, on some shard.
lst=$tmp/deadlocks.txt
timeout 30 "$ctl" deadlocks --dir "$cdir" >"$lst" 2>&1
check "rdlmctl deadlocks answers" $?
sed 's/^/    /' "$lst"
nvictims=0
while read -r _ label lkid; do
    nvictims=$((nvictims + 1))
    n=$(grep -c "victim $lkid\$" "$lst")
    [ "$n" = 1 ]
    check "rdlmctl deadlocks lists the $label victim $lkid once" $? "found $n times"
    grep -q "$lkid .*<- victim" "$lst"
    check "rdlmctl deadlocks shows the $label cycle with its victim marked" $?
done < <(grep -E '^victim ' "$out")
[ "$nvictims" = 3 ]
check "three victims (two, three, xid)" $? "got $nvictims"
hv=$(sed -n 's/^victim hostile //p' "$hostile")
if [ -n "$hv" ]; then
    nvictims=$((nvictims + 1))
    n=$(grep -c "victim $hv\$" "$lst")
    [ "$n" = 1 ]
    check "rdlmctl deadlocks lists the victim of the stranger's DL_CANCEL once" $? "found $n"
fi
total=$(sed -n 's/^node [0-9]* shard [0-9]*: \([0-9]*\) deadlock(s) resolved here.*/\1/p' "$lst" |
    awk '{s += $1} END {print s + 0}')
[ "$total" = "$nvictims" ]
check "no other deadlock was resolved anywhere" $? "rdlmctl counts $total"

# `rdlmctl status` counts them.
st=$tmp/status.txt
timeout 30 "$ctl" status --dir "$cdir" >"$st" 2>&1
stotal=$(sed -n 's/^  deadlocks \([0-9]*\) (victims cancelled here).*/\1/p' "$st" |
    awk '{s += $1} END {print s + 0}')
[ "$stotal" = "$nvictims" ]
check "rdlmctl status counts the deadlocks" $? "status says $stotal"
grep -q "searches [1-9]" "$st"
check "rdlmctl status shows searches" $?

# The stranger's two bad messages were counted as malformed, nothing else; nothing crashed.
malformed=$(sed -n 's/.*, malformed \([0-9]*\).*/\1/p' "$st" | awk '{s += $1} END {print s + 0}')
[ "$malformed" = 2 ]
check "rdlmctl status counts the 2 malformed messages of the hostile scenario" $? "$malformed"
for f in "$cdir"/node-*.pid; do
    p=$(cat "$f")
    kill -0 "$p" 2>/dev/null
    check "daemon $(basename "$f" .pid) still running" $?
done
! grep -qE "AddressSanitizer|runtime error" "$cdir"/node-*.log
check "no sanitizer report in the daemon logs" $?
finish
