#!/usr/bin/env bash
# tests/cluster/run_partition_test.sh BUILD_DIR : a network partition under load
# (docs/testing.md). Two ways to make it (RDLM_PARTITION_MODE):
#
#   netns (default): each node in its own network namespace (10.77.x.1..3 on veth pairs joined
#     by a bridge in a fourth "hub" namespace: nothing touches the host's network), clients in
#     their node's namespace; the cut takes node 3's link down: its TCP connections go silent
#     (no reset). fence_command kills every process of the fenced node's namespace. Needs root
#     and iproute2 (SKIP otherwise); tcp only.
#   drop: no namespaces - the daemons on this host (127.0.0.1 for tcp, the RDMA device's IPv4
#     address for rdma), started with RDLM_FAULT_INJECTION=1; the cut is `rdlmctl isolate` in
#     all three daemons (node 3 isolates 1 and 2, they isolate 3: symmetric), which stop all
#     traffic to and from the other side without closing a connection (master/fault.c).
#     fence_command kills node 3's rdlmd and clients by the pids the test recorded; the
#     survivors heal before node 3 is restarted. Needs no root, and runs on rxe (Soft-RoCE),
#     where rxe inside namespaces does not work.
#
# Either way, per round, under load (the fence agent takes 0.5 s, as real ones take their time):
#   - node 3, alone, loses quorum and freezes (grants nothing) before it is fenced;
#   - nodes 1 and 2 declare it lost, fence it, rebuild its resources: a fresh client's EX
#     grant on one of them gives the recovery time (detection + fencing + rebuild);
#   - the LVB rules hold, the survivors finish, a final EX round succeeds, the checker
#     passes over every log (node 3's clients were killed by the fence);
#   - the network comes back, node 3's rdlmd is restarted and rejoins (a member that masters
#     nothing); one of its clients locks every resource again.
# Environment: RDLM_PARTITION_MODE (netns or drop), RDLM_PARTITION_TRANSPORT (tcp, the default,
# or rdma: drop mode only), RDLM_PARTITION_ROUNDS (default 2), RDLM_PARTITION_SEED (default 5),
# RDLM_PARTITION_PROCS (clients, default 6), RDLM_PARTITION_KEEP=1 (keep the logs of passed
# rounds too, under BUILD/tests/cluster/failed/kept).
set -u
build=$(cd "${1:?usage: run_partition_test.sh BUILD_DIR}" && pwd)
ctl=$build/master/rdlmctl
wl=$build/tests/cluster/workload
chk=$build/tests/cluster/checker
probe=$build/tests/cluster/recovery_probe
rdlmd=$build/master/rdlmd
mode=${RDLM_PARTITION_MODE:-netns}
transport=${RDLM_PARTITION_TRANSPORT:-tcp}
rounds=${RDLM_PARTITION_ROUNDS:-2}
seed=${RDLM_PARTITION_SEED:-5}
K=${RDLM_PARTITION_PROCS:-6}
dur=3000
hb_ms=200
node_timeout_ms=1000
slow_ms=15000 # how long a start, a rejoin, a client's last steps may take
drain_s=5     # how long a client's pending requests may take after its time limit
if [ "$transport" = rdma ]; then # rxe in a TCG guest is slow
    hb_ms=300
    node_timeout_ms=2500
    slow_ms=60000
    drain_s=15 # a cut late in the run heals after about 7 s there (median 6.6 s)
fi
faildir=$build/tests/cluster/failed
tag=rp$$
pass=0
fail=0
times=()
pids=()
run=() # node_prefix: how to run a command on a node

case "$mode/$transport" in
netns/tcp | drop/tcp | drop/rdma) ;;
*)
    echo "FAIL partition: RDLM_PARTITION_MODE=$mode RDLM_PARTITION_TRANSPORT=$transport (netns/tcp, drop/tcp or drop/rdma)"
    echo "partition: 0 passed, 1 failed"
    exit 1
    ;;
esac

# ---- netns mode: namespaces, veths, a bridge; the cut takes a link down ----

# Node namespaces are named per round: a process of an earlier round that outlived its
# teardown must never find the next round's namespace under the same name (the fence agent
# kills "every process of namespace NAME").
cur_round=0
ns() { echo "$tag-r$cur_round-n$1"; }
hub=$tag-hub

netns_check() {
    if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! ip netns add "$tag-probe" 2>/dev/null; then
        echo "SKIP partition: needs root and network namespaces"
        echo "partition: 0 passed, 0 failed"
        exit 0
    fi
    ip netns del "$tag-probe"
}

netns_up() { # DIR
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

netns_down() { # DIR
    # Kill until the three namespaces are empty: one pass is not enough. Killing node 1's rdlmd
    # makes the others' coordinator (node 2, with node 3 back) fence node 1: a fence.sh forked
    # by node 2's rdlmd after node 2's namespace was listed lives on (then sleeps 0.5 s and
    # kills every process of the namespace named like node 1's: the next round's node 1).
    local i p left pass=0
    touch "$1/over"
    while :; do
        left=0
        for i in 1 2 3; do
            for p in $(ip netns pids "$(ns "$i")" 2>/dev/null); do
                kill -KILL "$p" 2>/dev/null
                left=$((left + 1))
            done
        done
        [ "$left" -eq 0 ] && break
        pass=$((pass + 1))
        if [ "$pass" -ge 250 ]; then
            echo "netns_down: processes still alive in the namespaces after 250 passes" >&2
            break
        fi
        sleep 0.02
    done
    for i in 1 2 3; do ip netns del "$(ns "$i")" 2>/dev/null; done
    ip netns del "$hub" 2>/dev/null
}

netns_prefix() { run=(ip netns exec "$(ns "$1")"); } # I

netns_node_conf() { printf '[node %d]\naddress = 10.77.0.%d\nport = 7401\n' "$1" "$1"; }

netns_fence_body() { # DIR: the fence agent kills every process of the node's namespace
    echo "for p in \$(ip netns pids $tag-r$cur_round-n\$1); do kill -KILL \$p; done"
}

netns_cut() { ip -n "$hub" link set "${tag}h$1" down; } # VICTIM DIR
netns_heal() { ip -n "$hub" link set "${tag}h$1" up; }  # VICTIM DIR

# ---- drop mode: every daemon on this host; the cut is rdlmctl isolate ----

addr=127.0.0.1
device=
base_port=0

rdma_address() { # the first RDMA device whose port 1 netdev has an IPv4 address: "ADDR DEV"
    local d ifn a
    for d in /sys/class/infiniband/*; do
        [ -r "$d/ports/1/gid_attrs/ndevs/0" ] || continue
        read -r ifn <"$d/ports/1/gid_attrs/ndevs/0" || continue
        a=$(ip -4 -o addr show dev "$ifn" 2>/dev/null | awk '{sub("/.*", "", $4); print $4; exit}')
        if [ -n "$a" ]; then
            echo "$a ${d##*/}"
            return 0
        fi
    done
    return 1
}

drop_check() {
    local found
    [ "$transport" = rdma ] || return 0
    if ! found=$(rdma_address); then
        echo "FAIL partition: no RDMA device with an IPv4 address (run it through soft-roce/run)"
        echo "partition: 0 passed, 1 failed"
        exit 1
    fi
    read -r addr device <<<"$found"
}

port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

drop_up() { # DIR: six free ports (3 nodes x 2 shards), away from rdlmctl up's 7401...
    local b p i free
    for ((i = 0; i < 50; i++)); do
        b=$((27000 + ((RANDOM + $$) % 500) * 8))
        free=1
        for ((p = b; p < b + 6; p++)); do port_busy "$p" && free=0; done
        [ "$free" -eq 1 ] && break
    done
    base_port=$b
}

kill_recorded() { # DIR I: node I's processes the test recorded, if they are still this round's
    local p
    for p in $(cat "$1/clients-$2.pids" "$1/node-$2.pids" 2>/dev/null); do
        grep -qaF -- "$1/" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
}

drop_down() { # DIR
    local i
    touch "$1/over"
    for i in 1 2 3; do kill_recorded "$1" "$i"; done
}

drop_prefix() { run=(); } # every node is this host; RDLM_NODE says a client's node

drop_node_conf() {
    printf '[node %d]\naddress = %s\nport = %d\n' "$1" "$addr" "$((base_port + ($1 - 1) * 2))"
    [ -z "$device" ] || echo "device = $device"
}

drop_fence_body() { # DIR: the fence agent kills the node's clients, then its rdlmd (so that
    # no client outlives its node and logs what it saw), by the pids the test recorded
    echo "for p in \$(cat $1/clients-\$1.pids $1/node-\$1.pids 2>/dev/null); do"
    echo "    grep -qaF -- $1/ /proc/\$p/cmdline 2>/dev/null && kill -KILL \$p"
    echo "done"
}

fault() { # DIR ARGS...: rdlmctl isolate/heal, bounded
    local dir=$1
    shift
    timeout -s KILL 60 "$ctl" "$@" --config "$dir/cluster.ini" >>"$dir/fault.out" 2>&1
}

drop_cut() { # VICTIM DIR: symmetric: the victim isolates the others, they isolate it
    local v=$1 dir=$2 i others="" jobs=()
    for i in 1 2 3; do [ "$i" -ne "$v" ] && others+=${others:+,}$i; done
    fault "$dir" isolate "$others" --node "$v" &
    jobs+=($!)
    for i in 1 2 3; do
        [ "$i" -eq "$v" ] && continue
        fault "$dir" isolate "$v" --node "$i" &
        jobs+=($!)
    done
    wait "${jobs[@]}"
}

drop_heal() { # VICTIM DIR: the survivors end the isolation (the victim was fenced)
    local i
    for i in 1 2 3; do [ "$i" -ne "$1" ] && fault "$2" heal --node "$i"; done
}

# ---- the mode's operations, and what both modes share ----

node_prefix() { "${mode}_prefix" "$@"; }
net_up() { "${mode}_up" "$@"; }
net_down() { "${mode}_down" "$@"; }
cut() { "${mode}_cut" "$@"; }
heal() { "${mode}_heal" "$@"; }

on_node() { # I CMD...: run CMD on node I (in the foreground)
    node_prefix "$1"
    shift
    "${run[@]}" "$@"
}

record_pid() { echo "$4" >>"$1/$2-$3.pids"; } # DIR node|clients I PID: for drop mode's fence

# start_node DIR I: in the background, without a function in between ($! is rdlmd); net_down
# or the fence kills it (no job notice)
start_node() {
    local fi=0
    [ "$mode" = drop ] && fi=1
    node_prefix "$2"
    RDLM_FAULT_INJECTION=$fi "${run[@]}" "$rdlmd" --config "$1/cluster.ini" --node "$2" \
        >>"$1/node-$2.log" 2>&1 &
    record_pid "$1" node "$2" $!
    disown $!
}

"${mode}_check"
tmp=$(mktemp -d /tmp/rdlm-partition.XXXXXX)
cur_dir=$tmp

cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    net_down "$cur_dir"
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
        [ "${RDLM_PARTITION_KEEP:-0}" = 1 ] && mkdir -p "$faildir/kept" && cp -r "$4" "$faildir/kept/$1"
    else
        printf 'FAIL %-22s %s\n' "$1" "$3"
        [ -f "$4/checker.out" ] && sed 's/^/      | /' "$4/checker.out" | head -n 30
        for f in "$4"/*.stderr "$4"/node-*.log "$4"/fault.out; do
            [ -s "$f" ] && { echo "      | $(basename "$f"):"; tail -n 12 "$f" | sed 's/^/      |   /'; }
        done
        mkdir -p "$faildir"
        rm -rf "${faildir:?}/$1"
        cp -r "$4" "$faildir/$1"
        echo "      | logs: $faildir/$1"
        fail=$((fail + 1))
    fi
}

cluster_ready() { # DIR: every node joined
    local deadline=$(($(now_ms) + slow_ms)) i
    for i in 1 2 3; do
        while ! grep -q "joined" "$1/node-$i.log" 2>/dev/null; do
            [ "$(now_ms)" -ge "$deadline" ] && return 1
            sleep 0.05
        done
    done
}

write_config() { # DIR: the fence agent and the cluster file
    local dir=$1 i
    {
        echo "#!/bin/sh"
        echo "# fence agent of the test ($mode mode): node \$1's processes die (after 0.5 s)"
        echo "[ -e $dir/over ] && exit 0 # the round is over: its daemons are being stopped"
        echo "sleep 0.5"
        echo "echo \"fenced node \$1 at \$(date +%s%3N)\" >>\"$dir/fence.log\""
        "${mode}_fence_body" "$dir"
        echo "exit 0"
    } >"$dir/fence.sh"
    chmod +x "$dir/fence.sh"
    {
        echo "[cluster]"
        echo "name = part"
        echo "transport = $transport"
        echo "shards = 2"
        echo "heartbeat_ms = $hb_ms"
        echo "node_timeout_ms = $node_timeout_ms"
        echo "fence_command = $dir/fence.sh %n"
        for i in 1 2 3; do "${mode}_node_conf" "$i"; done
    } >"$dir/cluster.ini"
}

# rejoin DIR VICTIM LS RES: node VICTIM, restarted, becomes a member that masters nothing and
# one of its clients locks every resource: 0 if so.
rejoin() {
    local dir=$1 victim=$2 ls=$3 res=$4 deadline
    start_node "$dir" "$victim"
    deadline=$(($(now_ms) + slow_ms))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        if on_node 1 "$ctl" status --config "$dir/cluster.ini" 2>/dev/null |
            grep -q "node $victim up.*(member, masters nothing)"; then
            # shellcheck disable=SC2086
            on_node "$victim" env RDLM_NODE=$victim timeout -s KILL $((slow_ms / 250)) "$wl" \
                --final --ls "$ls" --proc 400 --log "$dir/rejoin.log" $res >"$dir/rejoin.stderr" 2>&1
            return
        fi
        sleep 0.1
    done
    return 1
}

round() {
    local r=$1 name="partition-$1" dir=$tmp/round$1 ls="part$1" res="--res hot:2 --res w:6"
    local victim=3 names t pv nv i
    mkdir -p "$dir"
    cur_dir=$dir
    cur_round=$r
    net_up "$dir"
    write_config "$dir"
    export RDLM_CONFIG=$dir/cluster.ini
    for i in 1 2 3; do start_node "$dir" "$i"; done
    if ! cluster_ready "$dir"; then
        report "$name" 1 "(the cluster did not start)" "$dir"
        net_down "$dir"
        return
    fi
    mapfile -t names < <("$probe" pick rv 32 "$victim" "$ls")
    t=${names[0]} pv=${names[1]} nv=${names[2]}
    node_prefix 1
    # shellcheck disable=SC2086
    "${run[@]}" env RDLM_NODE=1 "$wl" --anchor --ls "$ls" --proc 100 --log "$dir/anchor.log" $res \
        --res rv:32 --ready-file "$dir/anchor.ready" --stop-file "$dir/stop" --time-ms 60000 \
        >"$dir/anchor.stderr" 2>&1 &
    local anchor=$!
    "${run[@]}" env RDLM_NODE=1 "$probe" hold --ls "$ls" --pr "$pv" --nl "$nv" \
        --ready "$dir/hold.ready" --stop "$dir/stop" >"$dir/hold.stderr" 2>&1 &
    local holder=$!
    pids+=("$anchor" "$holder")
    local deadline=$(($(now_ms) + slow_ms))
    while [ ! -e "$dir/anchor.ready" ] || [ ! -e "$dir/hold.ready" ]; do
        if [ "$(now_ms)" -ge "$deadline" ]; then
            report "$name" 1 "(anchor or holder not ready)" "$dir"
            net_down "$dir"
            return
        fi
        sleep 0.02
    done
    local node survivors=() killed=() logs=()
    for ((i = 1; i <= K; i++)); do
        node=$(((i % 3) + 1))
        node_prefix "$node"
        # shellcheck disable=SC2086
        "${run[@]}" env RDLM_DEBUG=1 RDLM_NODE=$node "$wl" --ls "$ls" --proc "$i" \
            --seed $((seed * 1000 + r * 10 + i)) --log "$dir/p$i.log" --time-ms "$dur" \
            --threads 2 --slots 3 --watchdog-s 20 --drain-s "$drain_s" --log-flush $res \
            >"$dir/p$i.stderr" 2>&1 &
        if [ "$node" -eq "$victim" ]; then
            record_pid "$dir" clients "$node" $!
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
    cut "$victim" "$dir"
    on_node 1 env RDLM_DEBUG=1 RDLM_NODE=1 timeout -s KILL $((slow_ms / 250)) "$probe" check --ls "$ls" \
        --since-ms "$tcut" --ex "$t" --valid "$pv" --invalid "$nv" >"$dir/check.out" \
        2>"$dir/check.stderr"
    local crc=$? rec
    rec=$(sed -n 's/^recovered_ms //p' "$dir/check.out")
    wait_pids $(($(now_ms) + dur + 5000 + slow_ms)) "${survivors[@]}"
    local hung=$? bad=0
    for i in "${!rcs[@]}"; do [ "${rcs[$i]}" -ne 0 ] && bad=$((bad + 1)); done
    # shellcheck disable=SC2086
    on_node 1 env RDLM_NODE=1 timeout -s KILL $((slow_ms / 250)) "$wl" --final --ls "$ls" \
        --proc 300 --log "$dir/final.log" $res >"$dir/final.stderr" 2>&1
    local frc=$?
    touch "$dir/stop"
    wait_pids $(($(now_ms) + slow_ms)) "$anchor" "$holder"
    for i in "${!rcs[@]}"; do [ "${rcs[$i]}" -ne 0 ] && bad=$((bad + 1)); done
    "$chk" "$dir/anchor.log" "$dir/final.log" "${logs[@]}" "${killed[@]}" >"$dir/checker.out" 2>&1
    local krc=$? frozen=1 jrc
    grep -q "no quorum: frozen" "$dir/node-$victim.log" && frozen=0
    # heal, restart the fenced node: it rejoins as a member that masters nothing
    heal "$victim" "$dir"
    rejoin "$dir" "$victim" "$ls" "$res"
    jrc=$?
    net_down "$dir"
    if [ "$crc" -eq 0 ] && [ "$krc" -eq 0 ] && [ "$hung" -eq 0 ] && [ "$bad" -eq 0 ] &&
        [ "$frc" -eq 0 ] && [ "$frozen" -eq 0 ] && [ "$jrc" -eq 0 ] && [ -n "$rec" ]; then
        times+=("$rec")
        report "$name" 0 "(node $victim cut off under load: it froze, was fenced; rebuilt in ${rec} ms after the cut; LVB rules, survivors, final round, rejoin ok)" "$dir"
    else
        report "$name" 1 "(probe exit $crc, checker exit $krc, $hung hung, $bad exited non-zero, final $frc, minority froze: $([ $frozen -eq 0 ] && echo yes || echo NO), rejoin $jrc, recovered ${rec:-never})" "$dir"
    fi
}

case $mode in
netns) echo "partition: $rounds rounds, $K clients, 3 nodes in network namespaces" ;;
drop) echo "partition: $rounds rounds, $K clients, 3 nodes on $addr ($transport), cut by rdlmctl isolate" ;;
esac
for ((r = 1; r <= rounds; r++)); do
    round "$r"
done
if [ "${#times[@]}" -gt 0 ]; then
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    echo "recovery time after a partition (cut -> first EX grant on a moved resource, node_timeout $node_timeout_ms ms, fence 0.5 s): median $(sed -n "$(((${#times[@]} + 1) / 2))p" <<<"$sorted") ms, worst $(tail -n 1 <<<"$sorted") ms"
fi
echo "partition: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
