#!/usr/bin/env bash
# tests/cluster/run_partition_test.sh BUILD_DIR : a network partition under load, made with
# network namespaces the test creates (docs/testing.md).
#
# Three nodes, each in its own namespace (10.77.x.1..3 on veth pairs joined by a bridge
# in a fourth "hub" namespace: nothing touches the host's network), clients in their node's
# namespace, fence_command = a script that kills every process of the fenced node's
# namespace (a fence agent; it takes 0.5 s, as real ones take their time). Per round, under
# load, node 3's link goes down: its TCP connections go silent (no reset). Then:
#   - node 3, alone, loses quorum and freezes (grants nothing) before it is fenced;
#   - nodes 1 and 2 declare it lost, fence it, rebuild its resources: a fresh client's EX
#     grant on one of them gives the recovery time (detection + fencing + rebuild);
#   - the LVB rules hold, the survivors finish, a final EX round succeeds, the checker
#     passes over every log (node 3's clients were killed by the fence);
#   - the link comes back, node 3's rdlmd is restarted and rejoins (a member that masters
#     nothing); one of its clients locks every resource again.
# Needs root and iproute2; without them it says SKIP (0 passed, 0 failed).
# Environment: RDLM_PARTITION_ROUNDS (default 2), RDLM_PARTITION_SEED (default 5),
# RDLM_PARTITION_KEEP=1 (keep the logs of passed rounds too, under BUILD/tests/cluster/failed/kept).
set -u
build=$(cd "${1:?usage: run_partition_test.sh BUILD_DIR}" && pwd)
ctl=$build/master/rdlmctl
wl=$build/tests/cluster/workload
chk=$build/tests/cluster/checker
probe=$build/tests/cluster/recovery_probe
rdlmd=$build/master/rdlmd
rounds=${RDLM_PARTITION_ROUNDS:-2}
seed=${RDLM_PARTITION_SEED:-5}
K=6
dur=3000
faildir=$build/tests/cluster/failed
tag=rp$$
pass=0
fail=0
times=()

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! ip netns add "$tag-probe" 2>/dev/null; then
    echo "SKIP partition: needs root and network namespaces"
    echo "partition: 0 passed, 0 failed"
    exit 0
fi
ip netns del "$tag-probe"

tmp=$(mktemp -d /tmp/rdlm-partition.XXXXXX)
pids=()

ns() { echo "$tag-n$1"; }
hub=$tag-hub

net_up() {
    ip netns add "$hub"
    ip -n "$hub" link add br0 type bridge
    ip -n "$hub" link set br0 up
    local i
    for i in 1 2 3; do
        ip netns add "$(ns "$i")"
        ip link add "${tag}v$i" type veth peer name "${tag}h$i"
        ip link set "${tag}v$i" netns "$(ns "$i")"
        ip link set "${tag}h$i" netns "$hub"
        ip -n "$(ns "$i")" link set lo up
        ip -n "$(ns "$i")" addr add "10.77.0.$i/24" dev "${tag}v$i"
        ip -n "$(ns "$i")" link set "${tag}v$i" up
        ip -n "$hub" link set "${tag}h$i" master br0
        ip -n "$hub" link set "${tag}h$i" up
    done
}

kill_ns() { # every process of node I's namespace
    local p
    for p in $(ip netns pids "$(ns "$1")" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
}

net_down() {
    local i
    for i in 1 2 3; do
        kill_ns "$i"
        ip netns del "$(ns "$i")" 2>/dev/null
    done
    ip netns del "$hub" 2>/dev/null
}

cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    net_down
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# shellcheck source=tests/cluster/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"

in_ns() { # in_ns I CMD...: run CMD in node I's namespace
    local i=$1
    shift
    ip netns exec "$(ns "$i")" "$@"
}

report() { # NAME OK DETAIL DIR
    if [ "$2" -eq 0 ]; then
        printf 'ok   %-22s %s\n' "$1" "$3"
        pass=$((pass + 1))
        [ "${RDLM_PARTITION_KEEP:-0}" = 1 ] && mkdir -p "$faildir/kept" && cp -r "$4" "$faildir/kept/$1"
    else
        printf 'FAIL %-22s %s\n' "$1" "$3"
        [ -f "$4/checker.out" ] && sed 's/^/      | /' "$4/checker.out" | head -n 30
        for f in "$4"/*.stderr "$4"/node-*.log; do
            [ -s "$f" ] && { echo "      | $(basename "$f"):"; tail -n 12 "$f" | sed 's/^/      |   /'; }
        done
        mkdir -p "$faildir"
        rm -rf "${faildir:?}/$1"
        cp -r "$4" "$faildir/$1"
        echo "      | logs: $faildir/$1"
        fail=$((fail + 1))
    fi
}

start_node() { # DIR I
    in_ns "$2" "$rdlmd" --config "$1/cluster.ini" --node "$2" >>"$1/node-$2.log" 2>&1 &
    pids+=($!)
}

cluster_ready() { # DIR: every node joined
    local deadline=$(($(now_ms) + 15000)) i
    for i in 1 2 3; do
        while ! grep -q "joined" "$1/node-$i.log" 2>/dev/null; do
            [ "$(now_ms)" -ge "$deadline" ] && return 1
            sleep 0.05
        done
    done
}

round() {
    local r=$1 name="partition-$1" dir=$tmp/round$1 ls="part$1" res="--res hot:2 --res w:6"
    local victim=3 names t pv nv i
    mkdir -p "$dir"
    cat >"$dir/fence.sh" <<EOF
#!/bin/sh
# fence agent of the test: every process of the node's namespace dies (after 0.5 s)
sleep 0.5
echo "fenced node \$1 at \$(date +%s%3N)" >>"$dir/fence.log"
for p in \$(ip netns pids $tag-n\$1); do kill -KILL \$p; done
exit 0
EOF
    chmod +x "$dir/fence.sh"
    {
        echo "[cluster]"
        echo "name = part"
        echo "transport = tcp"
        echo "shards = 2"
        echo "heartbeat_ms = 200"
        echo "node_timeout_ms = 1000"
        echo "fence_command = $dir/fence.sh %n"
        for i in 1 2 3; do printf '[node %d]\naddress = 10.77.0.%d\nport = 7401\n' "$i" "$i"; done
    } >"$dir/cluster.ini"
    export RDLM_CONFIG=$dir/cluster.ini
    net_up
    for i in 1 2 3; do start_node "$dir" "$i"; done
    if ! cluster_ready "$dir"; then
        report "$name" 1 "(the cluster did not start)" "$dir"
        net_down
        return
    fi
    mapfile -t names < <("$probe" pick rv 32 "$victim" "$ls")
    t=${names[0]} pv=${names[1]} nv=${names[2]}
    # shellcheck disable=SC2086
    in_ns 1 env RDLM_NODE=1 "$wl" --anchor --ls "$ls" --proc 100 --log "$dir/anchor.log" $res \
        --res rv:32 --ready-file "$dir/anchor.ready" --stop-file "$dir/stop" --time-ms 60000 \
        >"$dir/anchor.stderr" 2>&1 &
    local anchor=$!
    in_ns 1 env RDLM_NODE=1 "$probe" hold --ls "$ls" --pr "$pv" --nl "$nv" \
        --ready "$dir/hold.ready" --stop "$dir/stop" >"$dir/hold.stderr" 2>&1 &
    local holder=$!
    pids+=("$anchor" "$holder")
    local deadline=$(($(now_ms) + 15000))
    while [ ! -e "$dir/anchor.ready" ] || [ ! -e "$dir/hold.ready" ]; do
        if [ "$(now_ms)" -ge "$deadline" ]; then
            report "$name" 1 "(anchor or holder not ready)" "$dir"
            net_down
            return
        fi
        sleep 0.02
    done
    local node survivors=() killed=() logs=()
    for ((i = 1; i <= K; i++)); do
        node=$(((i % 3) + 1))
        # shellcheck disable=SC2086
        in_ns "$node" env RDLM_DEBUG=1 RDLM_NODE=$node "$wl" --ls "$ls" --proc "$i" \
            --seed $((seed * 1000 + r * 10 + i)) --log "$dir/p$i.log" --time-ms "$dur" \
            --threads 2 --slots 3 --watchdog-s 20 --log-flush $res >"$dir/p$i.stderr" 2>&1 &
        if [ "$node" -eq "$victim" ]; then
            disown $! # the fence kills it
            killed+=(--killed "$dir/p$i.log")
        else
            survivors+=($!)
            pids+=($!)
            logs+=("$dir/p$i.log")
        fi
    done
    sleep "0.$((300 + (seed * 37 + r * 101) % 600))"
    local tcut
    tcut=$(now_ms)
    ip -n "$hub" link set "${tag}h$victim" down
    in_ns 1 env RDLM_NODE=1 timeout -s KILL 60 "$probe" check --ls "$ls" --since-ms "$tcut" \
        --ex "$t" --valid "$pv" --invalid "$nv" >"$dir/check.out" 2>"$dir/check.stderr"
    local crc=$? rec
    rec=$(sed -n 's/^recovered_ms //p' "$dir/check.out")
    wait_pids $(($(now_ms) + dur + 20000)) "${survivors[@]}"
    local hung=$? bad=0
    for i in "${!rcs[@]}"; do [ "${rcs[$i]}" -ne 0 ] && bad=$((bad + 1)); done
    # shellcheck disable=SC2086
    in_ns 1 env RDLM_NODE=1 timeout -s KILL 60 "$wl" --final --ls "$ls" --proc 300 \
        --log "$dir/final.log" $res >"$dir/final.stderr" 2>&1
    local frc=$?
    touch "$dir/stop"
    wait_pids $(($(now_ms) + 15000)) "$anchor" "$holder"
    for i in "${!rcs[@]}"; do [ "${rcs[$i]}" -ne 0 ] && bad=$((bad + 1)); done
    "$chk" "$dir/anchor.log" "$dir/final.log" "${logs[@]}" "${killed[@]}" >"$dir/checker.out" 2>&1
    local krc=$? frozen=1 jrc=1
    grep -q "no quorum: frozen" "$dir/node-$victim.log" && frozen=0
    # heal, restart the fenced node: it rejoins as a member that masters nothing
    ip -n "$hub" link set "${tag}h$victim" up
    start_node "$dir" "$victim"
    deadline=$(($(now_ms) + 15000))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        if in_ns 1 "$ctl" status --config "$dir/cluster.ini" 2>/dev/null |
            grep -q "node $victim up.*(member, masters nothing)"; then
            # shellcheck disable=SC2086
            in_ns "$victim" env RDLM_NODE=$victim timeout -s KILL 60 "$wl" --final --ls "$ls" \
                --proc 400 --log "$dir/rejoin.log" $res >"$dir/rejoin.stderr" 2>&1
            jrc=$?
            break
        fi
        sleep 0.1
    done
    net_down
    if [ "$crc" -eq 0 ] && [ "$krc" -eq 0 ] && [ "$hung" -eq 0 ] && [ "$bad" -eq 0 ] &&
        [ "$frc" -eq 0 ] && [ "$frozen" -eq 0 ] && [ "$jrc" -eq 0 ] && [ -n "$rec" ]; then
        times+=("$rec")
        report "$name" 0 "(node $victim cut off under load: it froze, was fenced; rebuilt in ${rec} ms after the cut; LVB rules, survivors, final round, rejoin ok)" "$dir"
    else
        report "$name" 1 "(probe exit $crc, checker exit $krc, $hung hung, $bad exited non-zero, final $frc, minority froze: $([ $frozen -eq 0 ] && echo yes || echo NO), rejoin $jrc, recovered ${rec:-never})" "$dir"
    fi
}

echo "partition: $rounds rounds, $K clients, 3 nodes in network namespaces"
for ((r = 1; r <= rounds; r++)); do
    round "$r"
done
if [ "${#times[@]}" -gt 0 ]; then
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    echo "recovery time after a partition (cut -> first EX grant on a moved resource, node_timeout 1 s, fence 0.5 s): median $(sed -n "$(((${#times[@]} + 1) / 2))p" <<<"$sorted") ms, worst $(tail -n 1 <<<"$sorted") ms"
fi
echo "partition: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
