#!/usr/bin/env bash
# tests/libdlm/test_install.sh BUILD - `make install DESTDIR=$tmp PREFIX=/usr` from BUILD, then
# use the installed tree as a user would: the files are where they belong, pkg-config
# (PKG_CONFIG_SYSROOT_DIR/PKG_CONFIG_LIBDIR pointing into $tmp) gives working flags, an
# unchanged libdlm program (docs/examples/libdlm/lvb_counter.c, copied elsewhere) and a native
# one build with them, and both run against a cluster started with the installed rdlmctl
# (which starts the installed rdlmd). RDLM_SAN=1: the build is sanitized, so the programs are
# linked with the same flags. Prints "N passed, M failed"; the cluster is always stopped.
install_tag=install
# shellcheck source=tests/lib/install_lib.sh
. "$(dirname "$0")/../lib/install_lib.sh"

files_in_place() {
    local f
    for f in usr/lib/librdlm.a usr/lib/librdlm-libdlm.a usr/include/rdlm.h \
        usr/include/rdlm/constants.h usr/include/rdlm/libdlm.h usr/lib/pkgconfig/rdlm.pc \
        usr/lib/pkgconfig/rdlm-libdlm.pc usr/share/man/man3/libdlm.3 \
        usr/share/man/man3/dlm_lock.3 usr/share/man/man3/dlm_unlock.3 \
        usr/share/man/man3/dlm_create_lockspace.3 usr/share/man/man3/dlm_dispatch.3 \
        usr/sbin/rdlmd usr/sbin/rdlmctl usr/bin/rdlm-demo; do
        [ -s "$root/$f" ] || { echo "missing: $f"; return 1; }
    done
    [ -x "$root/usr/sbin/rdlmd" ] && [ -x "$root/usr/bin/rdlm-demo" ]
}

pkgconfig_flags() {
    local flags
    flags=$(pc --cflags --libs rdlm-libdlm) || return 1
    echo "$flags"
    [[ $flags == *"-I$root/usr/include/rdlm"* ]] && [[ $flags == *"-L$root/usr/lib"* ]] &&
        [[ $flags == *-lrdlm-libdlm*-lrdlm* ]] && [ "$(pc --modversion rdlm)" != "" ]
}

build_libdlm_program() {
    mkdir -p "$tmp/src"
    cp "$repo/docs/examples/libdlm/lvb_counter.c" "$repo/docs/examples/libdlm/common.h" "$tmp/src/"
    # shellcheck disable=SC2046,SC2086
    cc $sanflags -Wall -Werror -o "$tmp/lvb_counter" "$tmp/src/lvb_counter.c" \
        $(pc --cflags --libs rdlm-libdlm)
}

build_native_program() {
    cat >"$tmp/src/native.c" <<'EOC'
#include <rdlm.h>
#include <stdio.h>
int main(void)
{
    rdlm_ls *ls;
    struct rdlm_lksb sb = {0};
    int st;

    if (rdlm_ls_open("installed", 0, &ls) != RDLM_OK)
        return 1;
    st = rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, "r", 1, NULL, NULL, NULL, NULL);
    if (st == RDLM_OK)
        st = rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, &sb, NULL) == RDLM_E_UNLOCKED ? 0 : 2;
    rdlm_ls_close(ls);
    printf("native: %s\n", st ? "failed" : "ok");
    return st;
}
EOC
    # shellcheck disable=SC2046,SC2086
    cc $sanflags -Wall -Werror -o "$tmp/native" "$tmp/src/native.c" $(pc --cflags --libs rdlm)
}

man_pages_render() { # every page, and the aliases (.so) to them, without a warning
    local m
    cd "$root/usr/share/man" || return 1
    for m in man3/*.3; do
        groff -man -Tutf8 -ww -z "$m" 2>&1 | grep . && { echo "in $m"; return 1; }
        [ "$(groff -man -Tutf8 "$m" 2>/dev/null | wc -l)" -gt 10 ] || { echo "empty: $m"; return 1; }
    done
    cd - >/dev/null
}

run_programs() {
    export RDLM_CONFIG=$tmp/cluster/cluster.ini
    "$tmp/lvb_counter" installed 2 50 && "$tmp/native" && "$root/usr/bin/rdlm-demo" -p 2 -t 1
}

check "make install DESTDIR PREFIX=/usr" do_install
check "files in place" files_in_place
check "pkg-config rdlm-libdlm" pkgconfig_flags
check "libdlm program builds with pkg-config" build_libdlm_program
check "native program builds with pkg-config" build_native_program
check "man pages render" man_pages_render
check "installed rdlmctl starts installed rdlmd" cluster_up
check "installed programs run on the cluster" run_programs
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
