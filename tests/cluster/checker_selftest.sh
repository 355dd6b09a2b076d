#!/usr/bin/env bash
# tests/cluster/checker_selftest.sh CHECKER : proves that the cluster checker can fail.
#
# Feeds tests/cluster/checker hand-written event logs (format: tests/cluster/wl_common.h): a
# correct history must pass, and each planted violation (mutual exclusion between processes
# and within one process, missing / double completion, completion of a rejected call, cancel
# inconsistency, stale LVB, wrong LVB sequence number, wrong VALNOTVALID, unclean end, an
# anomaly the workload noticed, fast-path expectations) must be reported with a precise
# message and exit status 1. Prints one line per case and "N passed, N failed".
set -u
checker=${1:?usage: checker_selftest.sh CHECKER}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
# lvb PROC THREAD SLOT COUNTER: the hex LVB value the workload writes (struct wl_lvbval)
lvb() { echo "$(le32 0x31425654)$(le32 "$1")$(le32 "$2")$(le32 "$3")$(le32 "$4")$(le32 0)$(le32 0)$(le32 0)"; }
W1=$(lvb 2 0 0 1)
W2=$(lvb 2 0 0 2)

# The base history on resource r0 (times in ns; flags 8 = VALBLK; status 0 OK, 13 UNLOCKED):
#   proc 1: anchor NL lock over [1200, 9000]
#   proc 2: EX [2100, 3000] writes W1 on unlock; EX [3500, 3800] writes W2 on unlock
#   proc 3: PR requested 4000, delivered 4100, reads W2 with seq 2; unlocked 5000
#   proc 4: CR requested 3200, delivered 3300, reads W1 with seq 1; unlocked 3400
base() {
    d=$tmp/$1
    rm -rf "$d" && mkdir -p "$d"
    cat >"$d/p1.log" <<EOF
H 1000 1 101 0 1 1
Q 1100 1 1 r0 L 0 0 1
C 1200 1 1 0 0 a1
G 1200 1 1 0 -1 0 0 0 -
Q 9000 2 1 r0 U -1 0 1
R 9000 1 2 -1
C 9100 2 1 13 0 a1
E 9200 1 2
EOF
    cat >"$d/p2.log" <<EOF
H 1000 2 102 0 1 1
Q 2000 1 1 r0 L 5 8 0
C 2100 1 1 0 0 b1
G 2100 1 1 5 -1 8 0 0 S
Q 3000 2 1 r0 U -1 8 0
R 3000 1 2 -1
W 3000 1 2 r0 W $W1
C 3100 2 1 13 0 b1
Q 3450 3 2 r0 L 5 0 1
C 3500 3 2 0 0 b2
G 3500 2 3 5 -1 0 0 0 -
Q 3800 4 2 r0 U -1 8 1
R 3800 2 4 -1
W 3800 2 4 r0 W $W2
C 3900 4 2 13 0 b2
E 9300 1 4
EOF
    cat >"$d/p3.log" <<EOF
H 1000 3 103 0 1 1
Q 4000 1 1 r0 L 3 8 0
C 4100 1 1 0 0 c1
G 4100 1 1 3 -1 8 0 2 $W2
Q 5000 2 1 r0 U -1 0 0
R 5000 1 2 -1
C 5100 2 1 13 0 c1
E 9300 1 2
EOF
    cat >"$d/p4.log" <<EOF
H 1000 4 104 0 1 1
Q 3200 1 1 r0 L 1 8 1
C 3300 1 1 0 0 d1
G 3300 1 1 1 -1 8 0 1 $W1
Q 3400 2 1 r0 U -1 0 1
R 3400 1 2 -1
C 3410 2 1 13 0 d1
E 9300 1 2
EOF
}

# run NAME EXPECTED_EXIT PATTERN [checker args...]: the logs of $tmp/NAME unless args given
run() {
    local name=$1 want=$2 pattern=$3
    shift 3
    local args=("$@")
    [ ${#args[@]} -gt 0 ] || args=("$tmp/$name"/p*.log)
    local out rc
    out=$("$checker" "${args[@]}" 2>&1)
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out"; then
        echo "ok   $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name: exit $rc (want $want), pattern '$pattern'"
        sed 's/^/      | /' <<<"$out" | head -n 30
        fail=$((fail + 1))
    fi
}

# edit NAME FILE SED-SCRIPT: apply a sed script to one log of case NAME
edit() { sed -i -e "$3" "$tmp/$1/$2"; }

base clean
run clean 0 'checker: PASS'

# Touching intervals (release issued at the very ns the next grant is delivered) are fine.
base touching
edit touching p3.log 's/^Q 4000 /Q 3000 /; s/^C 4100 1 1 /C 3800 1 1 /; s/^G 4100 /G 3800 /'
edit touching p3.log "s/^G 3800 1 1 3 -1 8 0 2 .*/G 3800 1 1 3 -1 0 0 0 -/"
run touching 0 'checker: PASS'

# A read concurrent with a write may see the old or the new value.
base concurrent-old
edit concurrent-old p3.log 's/^Q 4000 /Q 3700 /; s/^C 4100 /C 3850 /; s/^G 4100 /G 3850 /'
edit concurrent-old p3.log "s/ 2 $W2\$/ 1 $W1/"
run concurrent-old 0 'checker: PASS'
base concurrent-new
edit concurrent-new p3.log 's/^Q 4000 /Q 3700 /; s/^C 4100 /C 3850 /; s/^G 4100 /G 3850 /'
run concurrent-new 0 'checker: PASS'

# (a) PR granted to proc 3 while proc 2 holds EX.
base mutex
edit mutex p3.log 's/^Q 4000 /Q 2400 /; s/^C 4100 /C 2500 /; s/^G 4100 1 1 3 -1 8 0 2 .*/G 2500 1 1 3 -1 0 0 0 -/'
edit mutex p3.log 's/^Q 5000 /Q 2800 /; s/^R 5000 /R 2800 /; s/^C 5100 /C 2900 /'
run mutex 1 "VIOLATION mutual-exclusion: resource 'r0': proc 2 .* held EX over .* proc 3 .* held PR"

# (a) within one process: proc 2's second EX lock granted while its first is held.
base mutex-self
edit mutex-self p2.log 's/^Q 3450 /Q 2450 /; s/^C 3500 3 2 /C 2500 3 2 /; s/^G 3500 2 3 /G 2500 2 3 /'
run mutex-self 1 "VIOLATION mutual-exclusion: resource 'r0': proc 2 .*lock 1 .* held EX .* proc 2 .*lock 2 .* held EX"

# (b) a request without its completion.
base missing
edit missing p3.log '/^C 5100 2 1 13/d'
run missing 1 'VIOLATION completion: proc 3 .* request 2 \(unlock lock 1 .*: no completion \(the process ended cleanly\)'

# (b) a request completed twice.
base double
edit double p4.log 's/^C 3300 1 1 0 0 d1$/C 3300 1 1 0 0 d1\nC 3301 1 1 0 0 d1/'
run double 1 'VIOLATION completion: proc 4 .* request 1 \(new lock 1 .*: 2 completions'

# (b) a call that was rejected and still completed.
base rejected
edit rejected p4.log 's/^C 3410 2 1 13 0 d1$/J 3405 2 1 6\nC 3410 2 1 13 0 d1/'
run rejected 1 'VIOLATION completion: .* rejected by the call \(BUSY\) yet completed'

# (b) cancel said OK (the request will complete CANCELED) but it was granted.
base cancel
edit cancel p3.log 's/^C 4100 1 1 0 0 c1$/X 4050 1 1 0\nC 4100 1 1 0 0 c1/'
run cancel 1 'VIOLATION cancel: proc 3 .* rdlm_cancel returned OK but the request completed OK'

# (c) stale LVB: proc 3 (requested after W2 completed) reads W1.
base stale
edit stale p3.log "s/ 2 $W2\$/ 1 $W1/"
run stale 1 "VIOLATION lvb: resource 'r0': proc 3 .* read \{proc 2 thread 0 slot 0 write #1\} \(that is E1's value\) seq 1 VALNOTVALID=0; .*E2..E2"

# (c) a value from the future: proc 4 (delivered before W2 was issued) reads W2.
base future
edit future p4.log "s/ 1 $W1\$/ 2 $W2/"
run future 1 "VIOLATION lvb: resource 'r0': proc 4 .* read \{proc 2 thread 0 slot 0 write #2\}"

# (c) LVB never written read as nothing is fine, but not after a write completed.
base sentinel
edit sentinel p3.log "s/ 2 $W2\$/ 2 S/"
run sentinel 1 "VIOLATION lvb: resource 'r0': proc 3 .* read nothing"

# (c) sequence numbers that do not count the writes.
base seq
edit seq p3.log "s/ 2 $W2\$/ 7 $W2/"
run seq 1 "VIOLATION lvb: resource 'r0': LVB sequence numbers do not count the writes"

# (c) after an invalidation (IVVALBLK unlock) a read must carry VALNOTVALID...
base invalid
edit invalid p2.log "s/^W 3800 2 4 r0 W .*/W 3800 2 4 r0 I -/; s/^Q 3800 4 2 r0 U -1 8 1/Q 3800 4 2 r0 U -1 32 1/"
edit invalid p3.log "s/^G 4100 1 1 3 -1 8 0 2 .*/G 4100 1 1 3 -1 8 0 1 $W1/"
run invalid 1 "VIOLATION lvb: .* read \{proc 2 thread 0 slot 0 write #1\} .* VALNOTVALID=0"
# ... and with it (the value is kept) it is correct.
base invalid-ok
edit invalid-ok p2.log "s/^W 3800 2 4 r0 W .*/W 3800 2 4 r0 I -/; s/^Q 3800 4 2 r0 U -1 8 1/Q 3800 4 2 r0 U -1 32 1/"
edit invalid-ok p3.log "s/^G 4100 1 1 3 -1 8 0 2 .*/G 4100 1 1 3 -1 8 2 1 $W1/"
run invalid-ok 0 'checker: PASS'

# A process whose log ends without an end record.
base unclean
edit unclean p3.log '/^E /d'
run unclean 1 'VIOLATION unclean: proc 3 .* no end record'

# The same log is fine when the process is known to have been killed; its pending request too.
base killed
edit killed p3.log '/^E /d; /^C 5100 /d'
run killed 0 'checker: PASS' "$tmp/killed/p1.log" "$tmp/killed/p2.log" --killed "$tmp/killed/p3.log" "$tmp/killed/p4.log"

# A killed process's log loses its tail: proc 5 was killed after logging only a request on
# another resource (r1), yet it could have taken EX on r0 and written it before dying, unlogged.
# A read after its last record that sees such a value (or VALNOTVALID from its purge) is no
# violation; the same read delivered before that record still is (nothing unlogged yet).
W5=$(lvb 5 0 0 1)
killed5() { # killed5 NAME TIME-OF-P5'S-LAST-RECORD
    base "$1"
    printf 'H 1000 5 105 0 1 1\nQ %s 1 1 r1 L 5 8 0\n' "$2" >"$tmp/$1/p5.log"
    edit "$1" p3.log "s/ 2 $W2\$/ 3 $W5/"
}
killed5 killed-unlogged 3450
run killed-unlogged 0 'checker: PASS' "$tmp/killed-unlogged"/p[1-4].log --killed "$tmp/killed-unlogged/p5.log"
killed5 killed-empty 3450
: >"$tmp/killed-empty/p5.log"
run killed-empty 0 'checker: PASS' "$tmp/killed-empty"/p[1-4].log --killed "$tmp/killed-empty/p5.log"
killed5 killed-later 4200
run killed-later 1 "VIOLATION lvb: resource 'r0': proc 3 .* read \{proc 5 thread 0 slot 0 write #1\}" "$tmp/killed-later"/p[1-4].log --killed "$tmp/killed-later/p5.log"

# An anomaly the workload noticed (e.g. TIMEDOUT without TIMEOUT) fails the run.
base anomaly
edit anomaly p4.log 's/^E 9300 1 2$/A 9250 lid=1 rid=1 op=L TIMEDOUT without TIMEOUT status=10(TIMEDOUT)\nE 9300 1 2/'
run anomaly 1 'VIOLATION anomaly: proc 4 .* TIMEDOUT without TIMEOUT'

# Fast-path expectations from the statistics in the end records.
base nofast
edit nofast p2.log 's/^E 9300 1 4$/E 9300 1 4 fast_grants=3 fast_unlocks=1 two_sided=0 cas_retries=0/'
run nofast 1 'VIOLATION fastpath: the fast path was disabled, yet 3 fast grants' --expect-nofast "$tmp/nofast"/p*.log
base fast
run fast 1 'VIOLATION fastpath: .*fast_grants == 0' --expect-fast "$tmp/fast"/p*.log

# A garbled log line.
base garbled
edit garbled p4.log 's/^C 3300 1 1 0 0 d1$/C 3300 xyz/'
run garbled 1 'VIOLATION log-format'

echo "checker-selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
