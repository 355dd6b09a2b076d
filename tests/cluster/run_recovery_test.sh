#!/usr/bin/env bash
# tests/cluster/run_recovery_test.sh BUILD_DIR : node failure under load (docs/testing.md).
#
# Each round starts a fresh local 3-node cluster (2 shards each), an anchor holding NL on
# every resource, a holder (node 1) keeping one lock at PR and one at NL with written LVBs on
# resources mastered by the victim node, and K workload clients spread over the three nodes.
# At a seeded random moment the victim node dies: its clients, then its rdlmd, get SIGKILL (a
# node failure takes its processes with it); one client of a surviving node gets SIGKILL too,
# just before or just after (seeded): a process death around the recovery. Then:
#   - a fresh client on node 1 locks EX a resource the victim mastered: the time from the
#     kill to that grant is the recovery time of the round;
#   - the LVB rules: the PR holder's value comes back valid, the NL-only value VALNOTVALID;
#   - the other surviving clients finish their workload without an error;
#   - a final EX round on every resource succeeds (the dead clients' locks are gone);
#   - the checker proves mutual exclusion and exactly-once completion over all the logs;
#   - the victim's rdlmd, restarted, rejoins as a member that masters nothing, and a client
#     of that node locks every resource again.
# Prints one line per round, the median and worst recovery time, and "N passed, N failed".
#
# Environment: RDLM_RECOVERY_SEED (default 7), RDLM_RECOVERY_ROUNDS (default 4),
# RDLM_RECOVERY_PROCS (default 6), RDLM_CLUSTER_TRANSPORT (tcp or rdma).
set -u
build=$(cd "${1:?usage: run_recovery_test.sh BUILD_DIR}" && pwd)
ctl=$build/master/rdlmctl
wl=$build/tests/cluster/workload
chk=$build/tests/cluster/checker
probe=$build/tests/cluster/recovery_probe
seed=${RDLM_RECOVERY_SEED:-7}
rounds=${RDLM_RECOVERY_ROUNDS:-4}
K=${RDLM_RECOVERY_PROCS:-6}
transport=${RDLM_CLUSTER_TRANSPORT:-tcp}
dur=3000
slow_ms=15000                            # how long an orderly stop may take
[ "$transport" = rdma ] && slow_ms=60000 # rxe in a TCG guest is slow
faildir=$build/tests/cluster/failed

tmp=$(mktemp -d /tmp/rdlm-recovery.XXXXXX)
pids=()
cdirs=()
pass=0
fail=0
times=()

cleanup() {
    local p d
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    for d in "${cdirs[@]}"; do timeout 20 "$ctl" down --dir "$d" >/dev/null 2>&1; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# shellcheck source=tests/cluster/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"

report() { # NAME OK DETAIL DIR
    if [ "$2" -eq 0 ]; then
        printf 'ok   %-22s %s\n' "$1" "$3"
        pass=$((pass + 1))
    else
        printf 'FAIL %-22s %s\n' "$1" "$3"
        [ -f "$4/checker.out" ] && sed 's/^/      | /' "$4/checker.out" | head -n 30
        for f in "$4"/*.stderr "$4"/cluster/node-*.log; do
            [ -s "$f" ] && { echo "      | $(basename "$f"):"; tail -n 12 "$f" | sed 's/^/      |   /'; }
        done
        mkdir -p "$faildir"
        rm -rf "${faildir:?}/$1"
        cp -r "$4" "$faildir/$1"
        echo "      | logs: $faildir/$1 (RDLM_RECOVERY_SEED=$seed)"
        fail=$((fail + 1))
    fi
}

# rejoin CDIR NODE LS RES DIR: restart NODE's rdlmd; it must become a member that masters
# nothing, and a client of that node must lock every resource.
rejoin() {
    local cdir=$1 node=$2 ls=$3 res=$4 dir=$5 deadline st
    "$build/master/rdlmd" --config "$cdir/cluster.ini" --node "$node" >>"$cdir/node-$node.log" 2>&1 &
    echo $! >"$cdir/node-$node.pid"
    deadline=$(($(now_ms) + slow_ms))
    while :; do
        st=$("$ctl" status --config "$cdir/cluster.ini" 2>&1)
        grep -q "node $node up.*(member, masters nothing)" <<<"$st" && break
        if [ "$(now_ms)" -ge "$deadline" ]; then
            echo "$st" >"$dir/rejoin.stderr"
            return 1
        fi
        sleep 0.1
    done
    # shellcheck disable=SC2086
    RDLM_NODE=$node timeout -s KILL 60 "$wl" --final --ls "$ls" --proc 400 --log "$dir/rejoin.log" \
        $res >>"$dir/rejoin.stderr" 2>&1
}

round() {
    local r=$1 name="node-kill-$1" dir=$tmp/round$1 victim=$((2 + $1 % 2))
    local cdir=$dir/cluster ls="rec$1" res="--res hot:2 --res w:6"
    local up names t pv nv
    mkdir -p "$dir"
    cdirs+=("$cdir")
    if ! up=$(timeout 30 "$ctl" up 3 --shards 2 --transport "$transport" --dir "$cdir" 2>&1); then
        echo "$up" >"$dir/up.stderr"
        report "$name" 1 "(rdlmctl up failed)" "$dir"
        return
    fi
    eval "$(grep '^export RDLM_CONFIG=' <<<"$up")"
    export RDLM_CONFIG
    mapfile -t names < <("$probe" pick rv 32 "$victim" "$ls")
    if [ "${#names[@]}" -lt 3 ]; then
        report "$name" 1 "(fewer than 3 of 32 names on node $victim)" "$dir"
        return
    fi
    t=${names[0]} pv=${names[1]} nv=${names[2]}
    # shellcheck disable=SC2086
    RDLM_NODE=1 "$wl" --anchor --ls "$ls" --proc 100 --log "$dir/anchor.log" $res --res rv:32 \
        --ready-file "$dir/anchor.ready" --stop-file "$dir/stop" --time-ms 60000 \
        >"$dir/anchor.stderr" 2>&1 &
    local anchor=$!
    pids+=("$anchor")
    RDLM_NODE=1 "$probe" hold --ls "$ls" --pr "$pv" --nl "$nv" --ready "$dir/hold.ready" \
        --stop "$dir/stop" >"$dir/hold.stderr" 2>&1 &
    local holder=$!
    pids+=("$holder")
    local deadline=$(($(now_ms) + slow_ms))
    while [ ! -e "$dir/anchor.ready" ] || [ ! -e "$dir/hold.ready" ]; do
        if [ "$(now_ms)" -ge "$deadline" ]; then
            report "$name" 1 "(anchor or holder not ready)" "$dir"
            return
        fi
        sleep 0.02
    done
    local i node survivors=() slogs=() victims=() killed=()
    for ((i = 1; i <= K; i++)); do
        node=$(((i % 3) + 1))
        # shellcheck disable=SC2086
        RDLM_DEBUG=1 RDLM_NODE=$node "$wl" --ls "$ls" --proc "$i" --seed $((seed * 1000 + r * 10 + i)) \
            --log "$dir/p$i.log" --time-ms "$dur" --threads 2 --slots 3 --watchdog-s 20 \
            --log-flush $res >"$dir/p$i.stderr" 2>&1 &
        if [ "$node" -eq "$victim" ]; then
            victims+=($!)
            disown $! # it is killed with its node: no job notice
            killed+=(--killed "$dir/p$i.log")
        else
            survivors+=($!)
            slogs+=("$dir/p$i.log")
            pids+=($!)
        fi
    done
    # one surviving client dies too, just before or just after the node (seeded)
    local li=$(((seed + r) % ${#survivors[@]})) lone_before=$(((seed * 7 + r) % 2))
    local lone=${survivors[$li]} lone_log=${slogs[$li]}
    unset "survivors[$li]" "slogs[$li]"
    disown "$lone"
    killed+=(--killed "$lone_log")
    sleep "0.$((300 + (seed * 37 + r * 101) % 600))"
    if [ "$lone_before" -eq 1 ]; then
        kill -KILL "$lone" 2>/dev/null
        sleep 0.05
    fi
    local tkill
    tkill=$(now_ms)
    # the node's processes first: a client must not outlive its node and log what it saw
    kill -KILL "${victims[@]}" 2>/dev/null
    kill -KILL "$(cat "$cdir/node-$victim.pid")" 2>/dev/null
    if [ "$lone_before" -eq 0 ]; then
        sleep "0.0$(((seed * 13 + r) % 9))"
        kill -KILL "$lone" 2>/dev/null
    fi
    RDLM_NODE=1 timeout -s KILL 60 "$probe" check --ls "$ls" --since-ms "$tkill" --ex "$t" \
        --valid "$pv" --invalid "$nv" >"$dir/check.out" 2>"$dir/check.stderr"
    local crc=$? rec
    rec=$(sed -n 's/^recovered_ms //p' "$dir/check.out")
    wait_pids $(($(now_ms) + dur + 20000 + slow_ms)) "${survivors[@]}"
    local hung=$? bad=0
    for i in "${!rcs[@]}"; do [ "${rcs[$i]}" -ne 0 ] && bad=$((bad + 1)); done
    # shellcheck disable=SC2086
    RDLM_NODE=1 timeout -s KILL 60 "$wl" --final --ls "$ls" --proc 300 --log "$dir/final.log" \
        $res >"$dir/final.stderr" 2>&1
    local frc=$?
    touch "$dir/stop"
    wait_pids $(($(now_ms) + slow_ms)) "$anchor" "$holder"
    for i in "${!rcs[@]}"; do [ "${rcs[$i]}" -ne 0 ] && bad=$((bad + 1)); done
    "$chk" "$dir"/anchor.log "$dir"/final.log "${slogs[@]}" "${killed[@]}" >"$dir/checker.out" 2>&1
    local krc=$?
    rejoin "$cdir" "$victim" "$ls" "$res" "$dir"
    local jrc=$?
    timeout 20 "$ctl" down --dir "$cdir" >/dev/null 2>&1
    if [ "$crc" -eq 0 ] && [ "$krc" -eq 0 ] && [ "$hung" -eq 0 ] && [ "$bad" -eq 0 ] &&
        [ "$frc" -eq 0 ] && [ "$jrc" -eq 0 ] && [ -n "$rec" ]; then
        times+=("$rec")
        report "$name" 0 "(node $victim killed under load with a client of a survivor: recovered in ${rec} ms; LVB rules, survivors, final round, rejoin ok)" "$dir"
    else
        report "$name" 1 "(probe exit $crc, checker exit $krc, $hung hung, $bad exited non-zero, final round exit $frc, rejoin $jrc, recovered ${rec:-never})" "$dir"
    fi
}

echo "recovery: seed $seed, $rounds rounds, $K clients, transport $transport"
for ((r = 1; r <= rounds; r++)); do
    round "$r"
done
if [ "${#times[@]}" -gt 0 ]; then
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    n=${#times[@]}
    echo "recovery time after a node kill (kill -> first EX grant on a moved resource): median $(sed -n "$(((n + 1) / 2))p" <<<"$sorted") ms, worst $(tail -n 1 <<<"$sorted") ms over $n rounds"
fi
echo "recovery: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
