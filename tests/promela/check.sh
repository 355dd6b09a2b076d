#!/usr/bin/env bash
# tests/promela/check.sh: model-check the fast/slow lock protocol (tests/promela/rdlm.pml, see
# docs/model-checking.md) with spin. Each check generates the verifier with spin, compiles it
# and runs it in a temporary directory (never in the source tree), and prints one OK/FAIL line;
# the last line is "N passed, N failed" (tests/run-tests counts it); exit status 1 on failure.
#
#   expect pass   an exhaustive search that must find nothing (safety or liveness)
#   expect fail   a mutant, a protocol variant or a coverage probe in which spin must find the
#                 violation given by the pattern (otherwise the passing checks could be vacuous)
#
# RDLM_PROMELA_LONG=1 adds the large configurations (3 clients x 2 operations: ~38M states,
# ~3 GB, a few minutes).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model=$here/rdlm.pml
timeout_s=${RDLM_PROMELA_TIMEOUT:-300}

pass=0
fail=0
if ! command -v spin >/dev/null || ! command -v gcc >/dev/null; then
    echo "FAIL spin or gcc is not installed (scripts/install-deps installs spin)"
    echo "0 passed, 1 failed"
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/rdlm-promela.XXXXXX")
trap 'rm -rf "$work"' EXIT
n=0

jobs=${RDLM_PROMELA_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

# The checks run $jobs at a time; each writes its report to $work/<n>/report and its verdict
# to $work/<n>/verdict (1 = passed); the reports are printed in order at the end.
section() {
    n=$((n + 1))
    mkdir -p "$work/$n"
    echo "== $*" >"$work/$n/report"
}

# check NAME EXPECT PATTERN "SPIN -D FLAGS" "CC FLAGS" "PAN FLAGS"
#   EXPECT = pass | fail; PATTERN (fail only): an extended regexp the error line must match
check() {
    n=$((n + 1))
    mkdir -p "$work/$n"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_check "$work/$n" "$@" >"$work/$n/report" 2>&1 &
}

run_check() {
    local dir=$1 name=$2 expect=$3 pattern=$4 sflags=$5 cflags=$6 pflags=$7
    cp "$model" "$dir/model.pml"
    local out=$dir/out
    local t0=$EPOCHREALTIME
    # shellcheck disable=SC2086
    if ! (cd "$dir" && spin $sflags -a model.pml >"$out" 2>&1 &&
        gcc -O0 -w -DMEMLIM=4096 $cflags -o pan pan.c >>"$out" 2>&1); then
        echo "FAIL $name: spin/gcc could not build the verifier (spin $sflags)"
        sed 's/^/    | /' "$out" | tail -n 20
        echo 0 >"$dir/verdict"
        return
    fi
    # shellcheck disable=SC2086
    (cd "$dir" && timeout "$timeout_s" ./pan $pflags) >"$out" 2>&1
    local rc=$?
    local secs
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
    local errors stored what
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
    stored=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$out" | tail -n 1)
    what=$(grep -m1 -E '^pan:1: ' "$out" | sed 's/^pan:1: //' | cut -c1-80)
    local ok=0 why=""
    if [ "$rc" -eq 124 ]; then
        why="timed out after ${timeout_s}s"
    elif [ -z "$errors" ]; then
        why="no verdict from pan (exit $rc)"
    elif grep -qE 'out of memory|max search depth too small|Search not completed' "$out" &&
        [ "$expect" = pass ]; then
        why="search incomplete"
    elif [ "$expect" = pass ]; then
        if [ "$errors" -eq 0 ]; then ok=1; else why="violation: $what"; fi
    else
        if [ "$errors" -eq 0 ]; then
            why="expected a violation, spin found none"
        elif ! grep -m1 -E '^pan:1: ' "$out" | grep -qE -- "$pattern"; then
            why="expected a violation matching /$pattern/, got: $what"
        else
            ok=1
        fi
    fi
    if [ "$ok" -eq 1 ]; then
        if [ "$expect" = pass ]; then
            printf 'OK   %-34s %10s states  %6ss\n' "$name" "${stored:-?}" "$secs"
        else
            printf 'OK   %-34s found: %s  (%ss)\n' "$name" "$what" "$secs"
        fi
        echo 1 >"$dir/verdict"
    else
        printf 'FAIL %-34s %s  (spin %s; pan %s)\n' "$name" "$why" "$sflags" "$pflags"
        sed 's/^/    | /' "$out" | tail -n 25
        echo 0 >"$dir/verdict"
    fi
    rm -f "$dir/pan" "$dir"/pan.? "$dir"/*.trail
}

SAFE="-DSAFETY -DNOCLAIM -DCOLLAPSE"
LIVE="-DCOLLAPSE"
PAN="-m2000000 -w24"
MUTEX='access\['          # the violated assertion is the clients' mutual exclusion
ENDST='invalid end state' # a request that never completes (deadlock)

section "safety: mutual exclusion, invariants 1-3 and 5, one completion per request, no deadlock"
check safety-2c-3ops-noqueue pass "" "-DN=2 -DNOPS=3 -DNOQ" "$SAFE" "$PAN"
check safety-2c-4ops-noqueue-warm pass "" "-DN=2 -DNOPS=4 -DNOQ -DWARM" "$SAFE" "$PAN"
check safety-3c-1op pass "" "-DN=3 -DNOPS=1" "$SAFE" "$PAN"
check safety-3c-1op-warm pass "" "-DN=3 -DNOPS=1 -DWARM" "$SAFE" "$PAN"
check safety-death-2c-3ops pass "" "-DN=2 -DNOPS=3 -DDEATH" "$SAFE" "$PAN"
check safety-death-3c-1op pass "" "-DN=3 -DNOPS=1 -DDEATH" "$SAFE" "$PAN"
if [ "${RDLM_PROMELA_LONG:-0}" = 1 ]; then
    check safety-3c-2ops pass "" "-DN=3 -DNOPS=2" "$SAFE" "-m2000000 -w27"
    check safety-death-3c-1op-warm pass "" "-DN=3 -DNOPS=1 -DWARM -DDEATH" "$SAFE" "$PAN"
fi

section "liveness (LTL, acceptance cycles): every operation completes, every client finishes"
check live-finish-2c-3ops-noqueue pass "" "-DN=2 -DNOPS=3 -DNOQ" "$LIVE" "-a -N finish $PAN"
check live-respond-3c-1op-warm pass "" "-DN=3 -DNOPS=1 -DWARM" "$LIVE" "-a -N respond0 $PAN"
check live-finish-death-2c-3ops pass "" "-DN=2 -DNOPS=3 -DDEATH" "$LIVE" "-a -N finish $PAN"

section "coverage: the safety configuration reaches each interesting event (so it is not vacuous)"
cov() { check "cover-$1" fail "seen" "-DN=2 -DNOPS=3 -DNOQ -DCOVER=$2" "$SAFE" "$PAN"; }
cov second-slow-epoch 1
cov fast-return-with-locks-held 2
cov unlock-parked-in-transition 4
cov cas-after-return-to-fast 8
cov norecord-unlock-from-grmode 16
cov conversion-deadlock 32
cov cas-fails-on-slow 64
cov client-side-notqueued 128

section "mutants: spin must find each violation"
check mutant-cas-slow fail "word&64" "-DN=2 -DNOPS=2 -DMUT_CAS_SLOW" "$SAFE" "$PAN"
check mutant-fast-with-waiters fail "cql==0" "-DN=2 -DNOPS=2 -DMUT_FAST_WITH_WAITERS" "$SAFE" "$PAN"
check mutant-early-install fail "rec\[" "-DN=2 -DNOPS=2 -DMUT_EARLY_INSTALL" "$SAFE" "$PAN"
check mutant-no-park-unlock fail "rec\[" "-DN=2 -DNOPS=2 -DMUT_NO_PARK_UNLOCK" "$SAFE" "$PAN"
check mutant-report-no-pending fail "rec\[" "-DN=2 -DNOPS=2 -DMUT_REPORT_NO_PENDING" "$SAFE" "$PAN"
check mutant-no-ctxlock fail "rec\[" "-DN=2 -DNOPS=2 -DMUT_NO_CTXLOCK" "$SAFE" "$PAN"
LEN="-DTRUST_REPORTS -DONLY_MUTEX"
check mutant-cas-slow-breaks-mutex fail "$MUTEX" "-DN=3 -DNOPS=1 -DWARM $LEN -DMUT_CAS_SLOW" "$SAFE" "-E $PAN"
check mutant-early-install-breaks-mutex fail "$MUTEX" "-DN=2 -DNOPS=2 $LEN -DMUT_EARLY_INSTALL" "$SAFE" "$PAN"
check mutant-report-no-pending-mutex fail "$MUTEX" "-DN=2 -DNOPS=2 $LEN -DMUT_REPORT_NO_PENDING" "$SAFE" "$PAN"
check mutant-no-ctxlock-breaks-mutex fail "$MUTEX" "-DN=2 -DNOPS=2 $LEN -DMUT_NO_CTXLOCK" "$SAFE" "$PAN"
check mutant-fast-with-waiters-hangs fail "$ENDST" "-DN=2 -DNOPS=2 $LEN -DMUT_FAST_WITH_WAITERS" "$SAFE" "$PAN"
check mutant-no-park-unlock-hangs fail "$ENDST" "-DN=2 -DNOPS=2 $LEN -DMUT_NO_PARK_UNLOCK" "$SAFE" "$PAN"
check mutant-fast-with-waiters-ltl fail "acceptance cycle|claim violated" "-DN=2 -DNOPS=2 $LEN -DMUT_FAST_WITH_WAITERS" "$LIVE" "-a -N finish $PAN"

section "client death as docs/protocol.md words it: a waiter hangs behind a dead client's lock"
check death-as-documented-hangs fail "$ENDST" "-DN=2 -DNOPS=2 -DDEATH -DDEATH_LITERAL" "$SAFE" "$PAN"
check death-half-fix-hangs fail "$ENDST" "-DN=2 -DNOPS=3 -DDEATH -DDEATH_KEEP_PARKED" "$SAFE" "$PAN"

wait
for i in $(seq 1 "$n"); do
    cat "$work/$i/report"
    if [ -f "$work/$i/verdict" ]; then
        if [ "$(cat "$work/$i/verdict")" = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    elif ! grep -q '^== ' "$work/$i/report"; then
        fail=$((fail + 1)) # the check died without a verdict
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
