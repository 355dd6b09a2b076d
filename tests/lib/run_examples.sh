#!/usr/bin/env bash
# tests/lib/run_examples.sh BUILD FRONT EXAMPLE... - run the example programs of a front end
# (BUILD/docs/examples/FRONT/EXAMPLE; libdlm, tcdlm) against a local 2-node cluster (2 shards
# each, so resources have several masters), each given a tag of its own (for its lockspace or
# resource names) and a time limit. Prints "N passed, M failed"; the cluster is always
# stopped.
set -u
build=$(cd "$1" && pwd)
front=$2
shift 2
ctl=$build/master/rdlmctl
dir=$(mktemp -d "/tmp/rdlm-$front-ex-XXXXXX")
pass=0
fail=0

cleanup() {
    "$ctl" down --dir "$dir" >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT

if ! "$ctl" up 2 --shards 2 --dir "$dir" >"$dir/up.log" 2>&1; then
    cat "$dir/up.log"
    echo "0 passed, 1 failed"
    exit 1
fi
export RDLM_CONFIG=$dir/cluster.ini

for ex in "$@"; do
    if timeout --kill-after=5 120 "$build/docs/examples/$front/$ex" "ex-$ex-$$"; then
        echo "ok   $ex"
        pass=$((pass + 1))
    else
        echo "FAIL $ex (exit $?)"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
