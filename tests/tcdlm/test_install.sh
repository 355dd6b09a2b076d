#!/usr/bin/env bash
# tests/tcdlm/test_install.sh BUILD - `make install DESTDIR=$tmp PREFIX=/usr` from BUILD, then
# use the installed tree as a TruCluster DLM user would: the library, <sys/dlm.h> (under
# include/rdlm, found through pkg-config's Cflags) and the pkg-config file are where they
# belong, the name.3tc man pages (if any) went to man3 and render, an unchanged program
# (docs/examples/tcdlm/lvb_counter.c, copied elsewhere) builds with
# `pkg-config --cflags --libs rdlm-tcdlm`, and runs against a cluster started with the
# installed rdlmctl. RDLM_SAN=1: the build is sanitized, so the program is linked with the
# same flags. Prints "N passed, M failed"; the cluster is always stopped.
install_tag=tc-install
# shellcheck source=tests/lib/install_lib.sh
. "$(dirname "$0")/../lib/install_lib.sh"

files_in_place() {
    local f m
    for f in usr/lib/librdlm.a usr/lib/librdlm-tcdlm.a usr/include/rdlm.h \
        usr/include/rdlm/tcdlm.h usr/include/rdlm/sys/dlm.h usr/lib/pkgconfig/rdlm.pc \
        usr/lib/pkgconfig/rdlm-tcdlm.pc usr/sbin/rdlmd usr/sbin/rdlmctl; do
        [ -s "$root/$f" ] || { echo "missing: $f"; return 1; }
    done
    for m in "$repo"/docs/man/tcdlm/*.3tc; do
        [ -e "$m" ] || continue
        f=usr/share/man/man3/$(basename "$m")
        [ -s "$root/$f" ] || { echo "missing: $f"; return 1; }
    done
}

pkgconfig_flags() {
    local flags
    flags=$(pc --cflags --libs rdlm-tcdlm) || return 1
    echo "$flags"
    [[ $flags == *"-I$root/usr/include/rdlm"* ]] && [[ $flags == *"-L$root/usr/lib"* ]] &&
        [[ $flags == *-lrdlm-tcdlm*-lrdlm* ]] && [ "$(pc --modversion rdlm-tcdlm)" != "" ]
}

build_tcdlm_program() {
    mkdir -p "$tmp/src"
    cp "$repo/docs/examples/tcdlm/lvb_counter.c" "$repo/docs/examples/tcdlm/common.h" "$tmp/src/"
    # shellcheck disable=SC2046,SC2086
    cc $sanflags -Wall -Werror -o "$tmp/lvb_counter" \
        "$tmp/src/lvb_counter.c" $(pc --cflags --libs rdlm-tcdlm)
}

man_pages_render() { # the .3tc pages, if there are any, without a warning
    local m
    for m in "$root"/usr/share/man/man3/*.3tc; do
        [ -e "$m" ] || continue
        (cd "$root/usr/share/man" && groff -man -Tutf8 -ww -z "man3/$(basename "$m")" 2>&1) |
            grep . && { echo "in $m"; return 1; }
    done
    return 0
}

run_program() {
    RDLM_CONFIG=$tmp/cluster/cluster.ini "$tmp/lvb_counter" installed 2 50
}

check "make install DESTDIR PREFIX=/usr" do_install
check "files in place" files_in_place
check "pkg-config rdlm-tcdlm" pkgconfig_flags
check "TruCluster program builds with pkg-config" build_tcdlm_program
check "man pages render" man_pages_render
check "installed rdlmctl starts installed rdlmd" cluster_up
check "installed program runs on the cluster" run_program
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
