# tests/cluster/fault_lib.sh - shell helpers the fault tests share (run_recovery_test.sh,
# run_partition_test.sh source it): the clock and a bounded wait for client processes.

now_ms() { date +%s%3N; }

# wait_pids DEADLINE_MS PID...: waits for every PID until DEADLINE_MS; one still running then
# gets SIGKILL. Sets rcs[] (137 for those killed); returns how many were still running.
wait_pids() {
    local deadline=$1 p i left
    shift
    rcs=()
    while :; do
        left=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
        [ "$left" -eq 0 ] || [ "$(now_ms)" -ge "$deadline" ] && break
        sleep 0.05
    done
    i=0
    for p in "$@"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null
            wait "$p" 2>/dev/null
            rcs[i]=137
        else
            wait "$p"
            rcs[i]=$?
        fi
        i=$((i + 1))
    done
    return "$left"
}
