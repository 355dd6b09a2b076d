# soft-roce/lib.sh: shared definitions for the Soft-RoCE tools (prepare, vm-run, run, setup,
# test-suites). Sourced, never executed. Holds the exit codes, the cache location, the choice of
# guest kernel and small logging helpers, so every tool agrees on them.
# shellcheck shell=bash disable=SC2034

# Exit codes of vm-run / run (besides CMD's own exit code); documented in docs/soft-roce.md.
SR_EXIT_USAGE=2      # bad command line
SR_EXIT_NOVM=123     # this host can run neither RDMA directly nor a guest (no qemu, no kernel)
SR_EXIT_TIMEOUT=124  # CMD exceeded --timeout
SR_EXIT_GUEST=125    # the guest never booted/answered, or died before CMD finished

SR_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SR_PROG=${SR_PROG:-soft-roce}

sr_log() { printf '%s: %s\n' "$SR_PROG" "$*" >&2; }
sr_die() {
    local code=$1
    shift
    sr_log "$*"
    exit "$code"
}

# Cache for the extracted kernel, the initramfs and the probe results; one subdirectory per
# guest kernel version. RDLM_SOFTROCE_CACHE overrides.
sr_cache_root() {
    if [ -n "${RDLM_SOFTROCE_CACHE:-}" ]; then
        printf '%s\n' "$RDLM_SOFTROCE_CACHE"
    elif [ "$(id -u)" -eq 0 ]; then
        printf '%s\n' /var/cache/rdlm-softroce
    else
        printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/rdlm-softroce"
    fi
}

# Does kernel version $1 ship the rxe module?
sr_kver_has_rxe() {
    compgen -G "/lib/modules/$1/kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko*" >/dev/null
}

# The guest kernel: RDLM_SOFTROCE_KVER, else the newest /boot/vmlinuz-* whose modules include
# rdma_rxe. Prints nothing (and fails) when there is none.
sr_pick_kver() {
    if [ -n "${RDLM_SOFTROCE_KVER:-}" ]; then
        printf '%s\n' "$RDLM_SOFTROCE_KVER"
        return 0
    fi
    local f k best=
    for f in /boot/vmlinuz-*; do
        [ -e "$f" ] || continue
        k=${f#/boot/vmlinuz-}
        sr_kver_has_rxe "$k" || continue
        if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$k" | sort -V | tail -n 1)" = "$k" ]; then
            best=$k
        fi
    done
    [ -n "$best" ] && printf '%s\n' "$best"
}

# The qemu binary (RDLM_SOFTROCE_QEMU overrides; an empty answer means there is none).
sr_qemu() { command -v "${RDLM_SOFTROCE_QEMU:-qemu-system-x86_64}" || true; }

# Seconds since the epoch with sub-second precision (bash 5).
sr_now() { printf '%s\n' "$EPOCHREALTIME"; }
sr_elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}'; }
# Is $1 (a sr_now value) more than $2 seconds ago?
sr_past() { awk -v a="$1" -v d="$2" -v b="$EPOCHREALTIME" 'BEGIN {exit !(b - a > d)}'; }

# Host RDMA devices usable for the suites: active port and atomics. Prints "dev" lines.
sr_host_devices() {
    command -v ibv_devinfo >/dev/null || return 0
    local dev info
    for dev in $(ibv_devinfo -l 2>/dev/null | sed -n 's/^[[:space:]]\+\([^[:space:]]\+\)$/\1/p'); do
        info=$(ibv_devinfo -v -d "$dev" 2>/dev/null) || continue
        grep -q 'state:[[:space:]]*PORT_ACTIVE' <<<"$info" || continue
        grep -q 'atomic_cap:[[:space:]]*ATOMIC_\(HCA\|GLOB\)' <<<"$info" || continue
        printf '%s\n' "$dev"
    done
}
