# tests/lib/install_lib.sh - sourced by the front ends' install tests (tests/libdlm/,
# tests/tcdlm/ test_install.sh BUILD): the temporary root, `make install DESTDIR`, pkg-config
# pointed into it, a cluster started with the installed rdlmctl, and one-line checks
# (check NAME COMMAND...; "N passed, M failed" is the caller's to print). The caller sets
# install_tag (for the temporary directory's name) before sourcing. RDLM_SAN=1: the build is
# sanitized, so programs built against the tree must use $sanflags.
set -u
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d "/tmp/rdlm-${install_tag:-install}-XXXXXX")
root=$tmp/root
san=${RDLM_SAN:-0}
sanflags=
[ "$san" = 1 ] && sanflags="-fsanitize=address,undefined -fno-omit-frame-pointer"
pass=0
fail=0

cleanup() {
    [ -x "$root/usr/sbin/rdlmctl" ] && "$root/usr/sbin/rdlmctl" down --dir "$tmp/cluster" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

check() { # check NAME COMMAND... : one test
    local name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        echo "ok   $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name"
        sed 's/^/      | /' "$tmp/out" | tail -n 30
        fail=$((fail + 1))
    fi
}

do_install() {
    local rel
    rel=$(realpath --relative-to="$repo" "$build")
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$repo" -s --no-print-directory \
        BUILD="$rel" SAN="$san" install DESTDIR="$root" PREFIX=/usr
}

pc() {
    PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/usr/lib/pkgconfig pkg-config "$@"
}

cluster_up() {
    "$root/usr/sbin/rdlmctl" up 1 --shards 2 --dir "$tmp/cluster" >/dev/null
}
