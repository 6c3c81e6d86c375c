#!/bin/bash
# One vm test, start to end: fetch the kernel (cached), build the test's
# initramfs, boot it, exit with the in-VM command's status (see run-vm.sh for
# the statuses 124 and 125). This is what ctest runs for bulwark_add_vm_test().
#
# Usage:
#   tests/vm/run-vm-test.sh --work DIR [--timeout S]
#       [--file HOST[:VM]]... [--exec HOST[:VM]]...   (mkinitramfs.sh)
#       [--smp N] [--mem MB] [--append 'ARGS'] [--interactive]   (run-vm.sh)
#       [--kernel-dir DIR]
#       -- CMD [ARGS...]
#   tests/vm/run-vm-test.sh --work DIR [--kernel-dir DIR] --fetch-only
#
# DIR receives initramfs.cpio.zst and console.log (the whole serial console,
# kept after the run). The kernel is cached in --kernel-dir, else
# $BULWARK_VM_KERNEL_DIR, else DIR/../vm-kernel.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=harness-lib.sh
. "$here/harness-lib.sh"

usage() {
    sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit 2
}

work="" kernel_dir="" fetch_only=0
mk_args=()
vm_args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --fetch-only) fetch_only=1; shift ;;
    --timeout | --append) [ $# -ge 2 ] || usage; vm_args+=("$1" "$2"); shift 2 ;;
    --) shift; break ;;
    *) # the options run-system-test.sh has too (harness-lib.sh)
        harness_runner_opt "$@" || { echo "run-vm-test: unknown argument '$1'" >&2; usage; }
        shift "$harness_shift" ;;
    esac
done
[ -n "$work" ] || usage
[ "$fetch_only" -eq 1 ] || [ $# -gt 0 ] || { echo "run-vm-test: a command after -- is required" >&2; usage; }

harness_work_dir
harness_fetch_kernel run-vm-test
[ "$fetch_only" -eq 0 ] || exit 0

# zstd: the kernel unpacks it faster than gzip under emulation.
initrd="$work/initramfs.cpio.zst"
"$here/mkinitramfs.sh" --out "$initrd" ${mk_args[@]+"${mk_args[@]}"} -- "$@" ||
    { echo "run-vm-test: building the initramfs failed" >&2; exit 125; }

rc=0
"$here/run-vm.sh" --kernel "$kernel_dir/vmlinuz" --initrd "$initrd" --log "$work/console.log" \
    ${vm_args[@]+"${vm_args[@]}"} || rc=$?
echo "run-vm-test: exit status $rc; console log: $work/console.log"
exit "$rc"
