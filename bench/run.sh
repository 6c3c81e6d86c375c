#!/bin/bash
# The benchmark suite, start to end (bench/README.md): installs what it
# needs, builds, measures natively (tracepoint mode on kernels where BPF LSM
# cannot be attached) and in the benchmark VM (LSM mode, with auditd and
# fapolicyd beside it), prints a table and writes docs/performance.md with
# its plots in docs/performance/.
#
# Usage: sudo bench/run.sh [--quick] [--native-only | --vm-only]
#   --quick        fewer samples, policies of 1k and 100k only (a check that
#                  the suite runs, not numbers to publish)
#   --native-only  leave out the VM (docs/performance.md then has one place)
#   --vm-only      leave out the native run
# BUILD_DIR=... builds elsewhere (default: build). Takes about 25 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
quick=0 native=1 vm=1
for a in "$@"; do
    case "$a" in
    --quick) quick=1 ;;
    --native-only) vm=0 ;;
    --vm-only) native=0 ;;
    *) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "bench: must run as root (it starts bulwarkd and loads BPF programs)" >&2
    exit 1
fi

scripts/install-deps.sh --bench
cmake -S . -B "$BUILD_DIR" -DBULWARK_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target bulwarkd bulwarkctl bulwark-bench
out="$BUILD_DIR/bench"
mkdir -p "$out"
bench=$(realpath "$BUILD_DIR/bench/bulwark-bench")
bulwarkd=$(realpath "$BUILD_DIR/daemon/bulwarkd")

if [ "$quick" -eq 1 ]; then
    sizes=1000,100000 reps=3 vm_reps=3
else
    sizes=1000,100000,1000000 reps=11 vm_reps=15
fi

results=()
if [ "$native" -eq 1 ]; then
    # auditd and fapolicyd change machine-wide state (the kernel's audit
    # rules, every open through fanotify): they run in the VM only.
    # tracefs is mounted as systemd mounts it at boot (here in a private
    # mount namespace, so nothing is left behind): tracepoint mode then
    # uses the syscall trace events (docs/modes.md).
    unshare --mount --propagation private sh -c \
        'mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing; exec "$@"' sh \
        "$bench" --bulwarkd "$bulwarkd" --where native --mode auto --sizes "$sizes" --reps "$reps" \
        --peers bpftrace --out "$out/results-native.json" \
        --note "tracefs mounted at /sys/kernel/tracing, as systemd does at boot"
    results+=(--results "$out/results-native.json")
fi

if [ "$vm" -eq 1 ]; then
    # The peers' programs, unpacked (never installed: on a machine with
    # systemd, installing them would start them with their default rules).
    peers="$out/peers"
    if [ ! -x "$peers/usr/sbin/fapolicyd" ] || [ ! -x "$peers/sbin/auditd" ]; then
        rm -rf "$peers" && mkdir -p "$peers/debs"
        (cd "$peers/debs" && apt-get download fapolicyd auditd)
        for deb in "$peers"/debs/*.deb; do dpkg -x "$deb" "$peers"; done
    fi
    magic=$(dpkg -L libmagic-mgc | grep -m1 '/magic.mgc$')
    vmwork="$out/vm"
    rm -f "$vmwork/results-vm.json"
    tests/vm/run-vm-test.sh --work "$vmwork" --timeout 7200 --smp 2 --mem 12288 \
        --append "loglevel=1" \
        --exec "$bulwarkd:/usr/sbin/bulwarkd" \
        --exec "$bench:/usr/libexec/bulwark/bulwark-bench" \
        --exec /usr/bin/bpftrace \
        --exec "$peers/sbin/auditd:/usr/sbin/auditd" \
        --exec "$peers/sbin/auditctl:/usr/sbin/auditctl" \
        --exec "$peers/usr/sbin/fapolicyd:/usr/sbin/fapolicyd" \
        --file "$peers/usr/share/fapolicyd:/usr/share/fapolicyd" \
        --file "$(realpath "$magic"):$magic" \
        -- /usr/libexec/bulwark/bulwark-bench --bulwarkd /usr/sbin/bulwarkd --where vm --mode lsm \
        --sizes "$sizes" --reps "$vm_reps" --scale 0.2 --reload-reps 2 \
        --peers bpftrace,fapolicyd,auditd --machine-wide-peers \
        --storm-rates 5000,10000,20000,40000,80000,0 --storm-events 200000
    # The results are on the serial console between two marker lines, one
    # JSON line each (the kernel is told to print nothing: loglevel=1).
    tr -d '\r' <"$vmwork/console.log" |
        sed -n '/^BULWARK-BENCH-RESULTS-BEGIN$/,/^BULWARK-BENCH-RESULTS-END$/p' |
        sed '1d;$d' >"$out/results-vm.json"
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out/results-vm.json" ||
        { echo "bench: the VM's results are missing or damaged: see $vmwork/console.log" >&2; exit 1; }
    results+=(--results "$out/results-vm.json")
fi

/usr/bin/python3 bench/report.py "${results[@]}" --analysis bench/analysis.md \
    --out-md docs/performance.md --out-dir docs/performance
echo "bench: wrote docs/performance.md and docs/performance/*.png"
