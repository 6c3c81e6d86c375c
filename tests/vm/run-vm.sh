#!/bin/bash
# Boots a kernel and an initramfs made by mkinitramfs.sh in qemu (software
# emulation, no KVM), streams the serial console to stdout (and a log), and
# exits with the status of the command the initramfs ran.
#
# Usage:
#   tests/vm/run-vm.sh --kernel VMLINUZ --initrd FILE
#       [--timeout SECONDS]   kill the VM after this long (default 300; 0: never)
#       [--log FILE]          also write the console output here
#       [--smp N]             virtual CPUs (default 2)
#       [--mem MB]            memory (default 1024)
#       [--append 'ARGS']     extra kernel command line arguments (e.g. lsm=...)
#       [--init PATH]         program the kernel starts from the initramfs
#                             (rdinit=, default /init; the system tier passes
#                             /lib/systemd/systemd)
#       [--interactive]       connect the command's stdin to your terminal
#                             (e.g. an initramfs built with `-- sh`)
#
# Exit status:
#   N    the command's exit status, from the "BULWARK-VM-EXIT=N" line
#   124  the VM did not power off within --timeout
#   125  the VM ended without a BULWARK-VM-EXIT line (kernel panic, init
#        failed to mount something, qemu failed to start, ...)
#   2    bad usage
# Success is never reported without the BULWARK-VM-EXIT=0 line.
set -eu

QEMU=${QEMU:-qemu-system-x86_64}

usage() {
    sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit 2
}
die() {
    echo "run-vm: error: $*" >&2
    exit 125
}

kernel="" initrd="" timeout=300 log="" smp=2 mem=1024 append="" interactive=0 init=/init
while [ $# -gt 0 ]; do
    case "$1" in
    --kernel) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
    --initrd) [ $# -ge 2 ] || usage; initrd=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
    --log) [ $# -ge 2 ] || usage; log=$2; shift 2 ;;
    --smp) [ $# -ge 2 ] || usage; smp=$2; shift 2 ;;
    --mem) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
    --append) [ $# -ge 2 ] || usage; append=$2; shift 2 ;;
    --init) [ $# -ge 2 ] || usage; init=$2; shift 2 ;;
    --interactive) interactive=1; shift ;;
    -h | --help) usage ;;
    *) echo "run-vm: unknown argument '$1'" >&2; usage ;;
    esac
done
if [ -z "$kernel" ] || [ -z "$initrd" ]; then usage; fi
case "$timeout$smp$mem" in *[!0-9]*) echo "run-vm: --timeout, --smp and --mem take numbers" >&2; usage ;; esac
[ -f "$kernel" ] || die "kernel '$kernel' not found (tests/vm/fetch-kernel.sh fetches it)"
[ -f "$initrd" ] || die "initramfs '$initrd' not found (tests/vm/mkinitramfs.sh builds it)"
command -v "$QEMU" >/dev/null 2>&1 || die "$QEMU not found (apt-get install qemu-system-x86)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-vm.XXXXXX")
[ -n "$log" ] || log="$tmp/console.log"
mkdir -p "$(dirname "$log")"
: >"$log"

# panic=-1 reboots at once on a panic and -no-reboot turns that reboot into
# qemu exiting, so a crashed kernel ends the run instead of hanging it.
cmdline="console=ttyS0 rdinit=$init panic=-1 oops=panic quiet"
[ "$interactive" -eq 0 ] || cmdline="$cmdline bulwark.stdin=console"
[ -z "$append" ] || cmdline="$cmdline $append"

qemu_args=(
    -accel tcg -cpu max # no KVM on our machines: software emulation
    -m "$mem" -smp "$smp"
    -nographic -no-reboot
    -nic none # no network device: nothing to probe, nothing to reach
    -kernel "$kernel" -initrd "$initrd" -append "$cmdline"
    -pidfile "$tmp/qemu.pid"
)

# shellcheck disable=SC2317 # called from traps
qemu_pid() { cat "$tmp/qemu.pid" 2>/dev/null || true; }
# shellcheck disable=SC2317 # called from traps
cleanup() {
    local pid
    pid=$(qemu_pid)
    # qemu exits cleanly on SIGTERM; only matters when we are interrupted.
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "run-vm: interrupted" >&2; exit 130' INT
trap 'echo "run-vm: terminated" >&2; exit 143' TERM

echo "run-vm: $QEMU ${qemu_args[*]}" | tee -a "$log"
start=$(date +%s)

# Non-interactive runs give qemu no stdin: it must not read the terminal of
# whoever runs ctest. Interactive runs hand it our stdin on fd 3 (a
# background job would otherwise get /dev/null).
if [ "$interactive" -eq 0 ]; then
    exec 3</dev/null
else
    exec 3<&0
fi

# timeout(1) enforces --timeout (0 disables it) and exits 124 when it fired;
# its status is saved because a pipeline only reports the last command's.
# --foreground lets an interactive qemu read the terminal.
timeout_args=(-k 5 "$timeout")
[ "$interactive" -eq 0 ] || timeout_args=(--foreground "${timeout_args[@]}")

# The serial console ends lines with \r\n and the firmware emits terminal
# escape sequences (screen clears): strip both, unbuffered, so the log reads
# cleanly and streams live. The pipeline runs in the background so the
# signal traps above fire at once.
{
    rc=0
    timeout "${timeout_args[@]}" "$QEMU" "${qemu_args[@]}" <&3 || rc=$?
    echo "$rc" 2>/dev/null >"$tmp/qemu.status" || true # $tmp is gone if we were interrupted
} 2>&1 |
    sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c78]//g' |
    tee -a "$log" &
wait $! || true
qemu_status=$(cat "$tmp/qemu.status" 2>/dev/null || echo '?')
elapsed=$(($(date +%s) - start))

# The last marker line wins; require it to be the whole line.
marker=$(grep -a -E '^BULWARK-VM-EXIT=[0-9]+[[:space:]]*$' "$log" | tail -n 1 | tr -dc '0-9' || true)

report() {
    echo "run-vm: $*" | tee -a "$log" >&2
}
# 124: timeout(1) fired; 137: it also had to SIGKILL qemu (-k 5).
timed_out=0
case "$qemu_status" in
124 | 137) [ "$timeout" -eq 0 ] || [ "$elapsed" -lt "$timeout" ] || timed_out=1 ;;
esac
if [ "$timed_out" -eq 1 ]; then
    if [ -n "$marker" ]; then
        report "VM timed out after $timeout s (the command had exited with status $marker, but the VM did not power off)"
    else
        report "VM timed out after $timeout s"
    fi
    exit 124
fi
if [ -z "$marker" ]; then
    report "VM ended after $elapsed s without a BULWARK-VM-EXIT line (kernel panic, $init failure or qemu error; qemu exit status $qemu_status; see the console output above)"
    exit 125
fi
report "command exited with status $marker; VM ran $elapsed s"
exit "$marker"
