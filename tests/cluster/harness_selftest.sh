#!/usr/bin/env bash
# tests/cluster/harness_selftest.sh WORKLOAD_MOCK CHECKER : validates the cluster-test harness
# end to end without a cluster. workload_mock is the workload linked with mock_rdlm.c (the
# rdlm.h calls implemented in-process over the lock engine): its logs must pass the checker
# (a complaint would be a false positive of the harness), and with each bug planted in the mock
# (RDLM_MOCK_BUG) the checker must fail with the right kind of violation.
# Prints one line per case and "N passed, N failed".
set -u
wl=${1:?usage: harness_selftest.sh WORKLOAD_MOCK CHECKER}
chk=${2:?usage: harness_selftest.sh WORKLOAD_MOCK CHECKER}
seed=${RDLM_CLUSTER_SEED:-$(date +%s)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
echo "harness: seed $seed (RDLM_CLUSTER_SEED=$seed to replay)"

# case NAME BUG WANT_EXIT PATTERN [workload args]
case_() {
    local name=$1 bug=$2 want=$3 pattern=$4
    shift 4
    local log=$tmp/$name.log out rc wrc
    RDLM_MOCK_BUG=$bug timeout -s KILL 60 "$wl" --log "$log" --proc 1 --seed "$seed" \
        --time-ms 700 --watchdog-s 3 "$@" >"$tmp/$name.stderr" 2>&1
    wrc=$?
    out=$("$chk" --max-report 3 "$log" 2>&1)
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out" && { [ "$want" -ne 0 ] || [ "$wrc" -eq 0 ]; }; then
        echo "ok   $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name: checker exit $rc (want $want), workload exit $wrc, pattern '$pattern'"
        sed 's/^/      | /' <<<"$out" | cut -c1-400 | head -n 20
        sed 's/^/      | /' "$tmp/$name.stderr" | head -n 5
        fail=$((fail + 1))
    fi
}

case_ correct-contended "" 0 'checker: PASS' --res hot:3 --threads 4 --slots 3
case_ correct-plain "" 0 'checker: PASS' --res hot:2 --threads 4 --slots 2 --plain
case_ correct-spread "" 0 'checker: PASS' --res r:12 --threads 3 --slots 4 --sync-pct 80
case_ correct-bast-sync "" 0 'checker: PASS' --res hot:2 --threads 4 --slots 3 --bast-pct 100 --bast-sync-pct 100
case_ planted-double double 1 'VIOLATION completion: .* 2 completions' --res hot:3 --threads 4 --slots 3
case_ planted-lost lose 1 'VIOLATION completion: .* no completion' --res hot:3 --threads 4 --slots 3
case_ planted-stale-lvb stale-lvb 1 'VIOLATION lvb: ' --res hot:3 --threads 4 --slots 3
case_ planted-early-grant early-grant 1 'VIOLATION mutual-exclusion: ' --res hot:3 --threads 4 --slots 3

echo "harness-selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
