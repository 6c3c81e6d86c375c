#!/bin/bash
# One system test, start to end: fetch the kernel (cached, shared with the
# vm tier), build the root filesystem with systemd (mkrootfs.sh), boot it
# (tests/vm/run-vm.sh) and exit with the test script's status. This is what
# ctest runs for bulwark_add_system_test().
#
# Usage:
#   tests/system/run-system-test.sh --work DIR [--timeout S]
#       [--file HOST[:VM]]... [--exec HOST[:VM]]... [--deb HOST[:VM]]...  (mkrootfs.sh)
#       [--smp N] [--mem MB] [--append 'ARGS'] [--interactive]          (run-vm.sh)
#       [--kernel-dir DIR]
#       --test SCRIPT
#
# Exit status: the test script's, from the BULWARK-VM-EXIT line; 124 the VM
# did not power off within --timeout (default 300 s); 125 the VM ended
# without that line or the kernel/rootfs could not be prepared. Never 0
# without the line.
#
# DIR receives rootfs.cpio.zst and console.log (the whole serial console,
# kept after the run). The kernel is cached in --kernel-dir, else
# $BULWARK_VM_KERNEL_DIR, else DIR/../vm-kernel.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
vmdir=$(cd "$here/../vm" && pwd)
# shellcheck source-path=SCRIPTDIR source=../vm/harness-lib.sh
. "$vmdir/harness-lib.sh"

usage() {
    sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit 2
}

work="" kernel_dir="" test_script="" timeout=300 append=""
mk_args=()
vm_args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --test) [ $# -ge 2 ] || usage; test_script=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
    --deb) [ $# -ge 2 ] || usage; mk_args+=("$1" "$2"); shift 2 ;;
    --append) [ $# -ge 2 ] || usage; append="$append $2"; shift 2 ;;
    *) # the options run-vm-test.sh has too (harness-lib.sh)
        harness_runner_opt "$@" || { echo "run-system-test: unknown argument '$1'" >&2; usage; }
        shift "$harness_shift" ;;
    esac
done
if [ -z "$work" ] || [ -z "$test_script" ]; then usage; fi

harness_work_dir
rm -f "$work/console.log"

harness_fetch_kernel run-system-test

rootfs="$work/rootfs.cpio.zst"
start=$(date +%s)
"$here/mkrootfs.sh" --out "$rootfs" ${mk_args[@]+"${mk_args[@]}"} --test "$test_script" ||
    { echo "run-system-test: building the root filesystem failed" >&2; exit 125; }
echo "run-system-test: root filesystem built in $(($(date +%s) - start)) s"

# systemd.show_status=0: no "[  OK  ] Started ..." lines between the test's
# output. run-vm.sh adds console=ttyS0 panic=-1 oops=panic quiet.
rc=0
"$vmdir/run-vm.sh" --kernel "$kernel_dir/vmlinuz" --initrd "$rootfs" --log "$work/console.log" \
    --init /lib/systemd/systemd --timeout "$timeout" --append "systemd.show_status=0$append" \
    ${vm_args[@]+"${vm_args[@]}"} || rc=$?
echo "run-system-test: exit status $rc; console log: $work/console.log"
exit "$rc"
