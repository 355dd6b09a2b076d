#!/usr/bin/env bash
# tests/cluster/run_cluster_test.sh BUILD_DIR : the multi-process cluster test (docs/testing.md).
#
# Starts a local 3-node cluster (`rdlmctl up 3 --dir TMP`, tcp on 127.0.0.1), then per
# scenario: an anchor client holding NL on every resource (so the resources and their LVBs
# live for the whole scenario), K workload clients (tests/cluster/workload.c) with their own
# seeds, and the checker (tests/cluster/checker.c) over all the event logs. Then the negative
# scenario: garbage bytes on every daemon port and clients killed with SIGKILL mid-operation
# while the others run; the checker must pass for the survivors and a final EX lock/unlock
# round on every resource must succeed. The cluster is always stopped (trap), every client is
# killed on exit, every wait is bounded.
#
# Environment: RDLM_CLUSTER_SEED (default: time; printed for replay), RDLM_CLUSTER_PROCS (K,
# default 6), RDLM_CLUSTER_MS (duration of a scenario's random phase, default 2000),
# RDLM_CLUSTER_ONLY (a regex of scenario names to run), RDLM_CLUSTER_KEEP=1 (keep the logs),
# RDLM_CLUSTER_TRANSPORT (tcp, the default, or rdma: the Soft-RoCE suite runs it on rxe0).
# Logs of failed scenarios are kept under BUILD_DIR/tests/cluster/failed/.
# Prints one line per scenario and "N passed, N failed".
set -u
build=$(cd "${1:?usage: run_cluster_test.sh BUILD_DIR}" && pwd)
ctl=$build/master/rdlmctl
wl=$build/tests/cluster/workload
chk=$build/tests/cluster/checker
seed=${RDLM_CLUSTER_SEED:-$(date +%s)}
K=${RDLM_CLUSTER_PROCS:-6}
dur=${RDLM_CLUSTER_MS:-2000}
only=${RDLM_CLUSTER_ONLY:-.}
transport=${RDLM_CLUSTER_TRANSPORT:-tcp}
faildir=$build/tests/cluster/failed

for b in "$ctl" "$wl" "$chk"; do
    if [ ! -x "$b" ]; then
        echo "cluster: missing $b"
        echo "cluster: 0 passed, 1 failed"
        exit 1
    fi
done

tmp=$(mktemp -d /tmp/rdlm-cluster.XXXXXX)
cdir=$tmp/cluster
pids=()
pass=0
fail=0
hold_fds=()

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    pids=()
    if [ -d "$cdir" ]; then
        timeout 20 "$ctl" down --dir "$cdir" >/dev/null 2>&1
        # anything still running from this cluster directory is a leak of rdlmctl down
        local f
        for f in "$cdir"/node-*.pid; do
            [ -e "$f" ] || continue
            p=$(cat "$f" 2>/dev/null)
            if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" | cut -c1)" != Z ]; then
                echo "cluster: rdlmctl down left daemon $p running; killing it"
                kill -KILL "$p" 2>/dev/null
            fi
        done
    fi
    if [ "${RDLM_CLUSTER_KEEP:-0}" = 1 ]; then
        echo "cluster: logs kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'echo "cluster: interrupted"; exit 130' INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_all DEADLINE_MS PID...: wait for the pids until the deadline; kill the rest (SIGKILL).
# Returns the number of pids that had to be killed; exit codes in the array `rcs`.
wait_all() {
    local deadline=$1
    shift
    local p killed=0 alive
    while :; do
        alive=0
        for p in "$@"; do
            kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ] && alive=1
        done
        [ "$alive" -eq 0 ] && break
        if [ "$(now_ms)" -ge "$deadline" ]; then
            for p in "$@"; do
                if kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ]; then
                    kill -KILL "$p" 2>/dev/null
                    killed=$((killed + 1))
                fi
            done
            break
        fi
        sleep 0.05
    done
    rcs=()
    for p in "$@"; do
        wait "$p" 2>/dev/null
        rcs+=($?)
    done
    return "$killed"
}

daemons_alive() {
    local f p n=0
    for f in "$cdir"/node-*.pid; do
        [ -e "$f" ] || continue
        p=$(cat "$f")
        if kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" | cut -c1)" != Z ]; then
            n=$((n + 1))
        fi
    done
    echo "$n"
}

report() { # report NAME OK(0/1) DETAIL DIR
    local name=$1 ok=$2 detail=$3 dir=$4
    if [ "$ok" -eq 0 ]; then
        printf 'ok   %-28s %s\n' "$name" "$detail"
        pass=$((pass + 1))
    else
        printf 'FAIL %-28s %s\n' "$name" "$detail"
        [ -f "$dir/checker.out" ] && sed 's/^/      | /' "$dir/checker.out" | head -n 40
        for f in "$dir"/*.stderr; do
            [ -s "$f" ] && { echo "      | $(basename "$f"):"; sed 's/^/      |   /' "$f" | head -n 10; }
        done
        mkdir -p "$faildir"
        rm -rf "${faildir:?}/$name"
        cp -r "$dir" "$faildir/$name"
        echo "      | logs: $faildir/$name (seed $seed)"
        fail=$((fail + 1))
    fi
}

# start_anchor DIR LS FASTARG RES...: holds NL on every resource until DIR/stop exists.
start_anchor() {
    local dir=$1 ls=$2 fastarg=$3
    shift 3
    rm -f "$dir/ready" "$dir/stop"
    RDLM_NODE=1 "$wl" --anchor --ls "$ls" --proc 100 --log "$dir/anchor.log" $fastarg \
        --ready-file "$dir/ready" --stop-file "$dir/stop" --time-ms 90000 "$@" \
        >"$dir/anchor.stderr" 2>&1 &
    anchor_pid=$!
    pids+=("$anchor_pid")
    local deadline=$(($(now_ms) + 15000))
    while [ ! -e "$dir/ready" ]; do
        if [ "$(now_ms)" -ge "$deadline" ] || ! kill -0 "$anchor_pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.02
    done
    return 0
}

stop_anchor() {
    touch "$1/stop"
    wait_all $(($(now_ms) + 15000)) "$anchor_pid"
    local k=$?
    [ "$k" -eq 0 ] && [ "${rcs[0]}" -eq 0 ]
}

# res_args KIND I: the --res arguments of client I for a scenario kind
res_args() {
    case $1 in
    uncontended) echo "--res p$2r:4" ;;
    contended) echo "--res hot:3" ;;
    mixed) echo "--res hot:2 --res p$2r:2" ;;
    esac
}

all_res() { # all resources of a scenario kind with K clients
    local i out=""
    case $1 in
    contended) out="--res hot:3" ;;
    uncontended) for ((i = 1; i <= K; i++)); do out+=" --res p${i}r:4"; done ;;
    mixed)
        out="--res hot:2"
        for ((i = 1; i <= K; i++)); do out+=" --res p${i}r:2"; done
        ;;
    esac
    echo "$out"
}

# scenario NAME KIND FAST(1/0) PROFILE(full/plain) [extra checker args]
scenario() {
    local name=$1 kind=$2 fast=$3 profile=$4
    shift 4
    [[ $name =~ $only ]] || return 0
    local dir=$tmp/$name ls="ct-$name-$$" fastarg="" profarg="" i
    mkdir -p "$dir"
    [ "$fast" -eq 0 ] && fastarg=--nofast
    [ "$profile" = plain ] && profarg=--plain
    # shellcheck disable=SC2046
    if ! start_anchor "$dir" "$ls" "$fastarg" $(all_res "$kind"); then
        report "$name" 1 "the anchor client could not lock the resources" "$dir"
        return
    fi
    local cl=() t0
    t0=$(now_ms)
    for ((i = 1; i <= K; i++)); do
        # shellcheck disable=SC2046
        RDLM_NODE=$(((i % 3) + 1)) "$wl" --ls "$ls" --proc "$i" --seed $((seed * 100 + i)) \
            --log "$dir/p$i.log" --time-ms "$dur" --threads 2 --slots 3 --watchdog-s 8 $fastarg $profarg \
            $(res_args "$kind" "$i") >"$dir/p$i.stderr" 2>&1 &
        cl+=($!)
        pids+=($!)
    done
    wait_all $((t0 + dur + 15000)) "${cl[@]}"
    local hung=$? bad=0
    for i in "${!rcs[@]}"; do
        [ "${rcs[$i]}" -ne 0 ] && bad=$((bad + 1))
    done
    stop_anchor "$dir" || bad=$((bad + 1))
    "$chk" "$@" "$dir"/anchor.log "$dir"/p*.log >"$dir/checker.out" 2>&1
    local crc=$?
    local alive
    alive=$(daemons_alive)
    local summary
    summary=$(grep '^checker: [0-9]' "$dir/checker.out" | sed -E 's/.* ([0-9]+) requests, ([0-9]+) completions.* ([0-9]+) LVB reads checked.*fast grants ([0-9]+).*/\1 requests, \3 LVB reads, \4 fast grants/')
    local secs=$((($(now_ms) - t0) / 1000))
    if [ "$crc" -eq 0 ] && [ "$hung" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$alive" -eq 3 ]; then
        report "$name" 0 "($K procs, ${secs}s: $summary)" "$dir"
    else
        report "$name" 1 "(checker exit $crc, $hung hung, $bad exited non-zero, $alive/3 daemons alive; $summary)" "$dir"
    fi
}

# garbage PORT: raw TCP junk at a daemon port (random bytes, a header with a huge length,
# a truncated header left open).
garbage() {
    local port=$1
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        head -c 4096 /dev/urandom >&3
        exec 3>&-
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        # magic "RL", version 1, type 2, length 0xffffffff, then junk
        printf 'RL\001\002\377\377\377\377\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' >&3
        head -c 100 /dev/zero >&3
        exec 3>&-
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        printf 'RL\001' >&3 # truncated header: the connection stays open while we sleep
        sleep 1
        exec 3>&-
    ) 2>/dev/null &
    pids+=($!)
}

negative() {
    local name=negative
    [[ $name =~ $only ]] || return 0
    local dir=$tmp/$name ls="ct-$name-$$" i
    mkdir -p "$dir"
    local nres="--res hot:3 --res vic:2"
    # shellcheck disable=SC2086
    if ! start_anchor "$dir" "$ls" "" $nres; then
        report "$name" 1 "the anchor client could not lock the resources" "$dir"
        return
    fi
    local cl=() vic=() t0
    t0=$(now_ms)
    for ((i = 1; i <= K; i++)); do
        # shellcheck disable=SC2086
        RDLM_NODE=$(((i % 3) + 1)) "$wl" --ls "$ls" --proc "$i" --seed $((seed * 100 + 50 + i)) \
            --log "$dir/p$i.log" --time-ms $((dur + 1000)) --threads 2 --slots 3 --watchdog-s 8 $nres \
            >"$dir/p$i.stderr" 2>&1 &
        cl+=($!)
        pids+=($!)
    done
    for i in 1 2; do
        RDLM_NODE=$(((i % 3) + 1)) "$wl" --ls "$ls" --proc $((200 + i)) --seed $((seed * 100 + 90 + i)) \
            --log "$dir/victim$i.log" --time-ms 60000 --threads 2 --slots 3 --hold-us 20000 --log-flush \
            $nres >"$dir/victim$i.stderr" 2>&1 &
        vic+=($!)
        pids+=($!)
    done
    sleep 0.6
    local port
    for port in $(sed -n 's/^port *= *//p' "$cdir/cluster.ini"); do
        garbage "$port"
    done
    sleep 0.4
    kill -KILL "${vic[0]}"
    sleep 0.3
    kill -KILL "${vic[1]}"
    wait "${vic[0]}" "${vic[1]}" 2>/dev/null
    garbage "$(sed -n 's/^port *= *//p' "$cdir/cluster.ini" | head -n 1)"
    wait_all $((t0 + dur + 15000)) "${cl[@]}"
    local hung=$? bad=0
    for i in "${!rcs[@]}"; do
        [ "${rcs[$i]}" -ne 0 ] && bad=$((bad + 1))
    done
    # the cluster keeps serving: EX on every resource (the victims' locks must be gone)
    local frc
    # shellcheck disable=SC2086
    RDLM_NODE=2 timeout -s KILL 60 "$wl" --final --ls "$ls" --proc 300 --log "$dir/final.log" $nres \
        >"$dir/final.stderr" 2>&1
    frc=$?
    stop_anchor "$dir" || bad=$((bad + 1))
    "$chk" "$dir"/anchor.log "$dir"/p*.log "$dir"/final.log --killed "$dir/victim1.log" \
        --killed "$dir/victim2.log" >"$dir/checker.out" 2>&1
    local crc=$?
    local alive
    alive=$(daemons_alive)
    local secs=$((($(now_ms) - t0) / 1000))
    if [ "$crc" -eq 0 ] && [ "$hung" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$frc" -eq 0 ] && [ "$alive" -eq 3 ]; then
        report "$name" 0 "(garbage on every port, 2 clients SIGKILLed, final EX round ok; ${secs}s)" "$dir"
    else
        report "$name" 1 "(checker exit $crc, $hung hung, $bad exited non-zero, final round exit $frc, $alive/3 daemons alive)" "$dir"
    fi
}

echo "cluster: seed $seed (RDLM_CLUSTER_SEED=$seed to replay), $K clients per scenario, ${dur} ms each"
if ! up=$(timeout 30 "$ctl" up 3 --transport "$transport" --dir "$cdir" 2>&1); then
    echo "$up" | sed 's/^/      | /'
    echo "FAIL cluster-up"
    echo "cluster: 0 passed, 1 failed"
    exit 1
fi
eval "$(grep '^export RDLM_CONFIG=' <<<"$up")"
export RDLM_CONFIG

scenario uncontended-fast uncontended 1 plain --expect-fast
scenario uncontended-nofast uncontended 0 full --expect-nofast
scenario contended-fast contended 1 full
scenario contended-fast-plain contended 1 plain
scenario contended-nofast contended 0 full --expect-nofast
scenario mixed-fast mixed 1 full
scenario mixed-nofast-plain mixed 0 plain --expect-nofast
negative

if [ "$(daemons_alive)" -ne 3 ]; then
    echo "FAIL daemons: only $(daemons_alive) of 3 daemons still running"
    for f in "$cdir"/node-*.log; do sed 's/^/      | /' "$f" | tail -n 5; done
    fail=$((fail + 1))
fi
echo "cluster: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
