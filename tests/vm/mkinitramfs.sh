#!/bin/bash
# Builds the initramfs a vm test boots. The initramfs is the VM's whole root
# filesystem: busybox-static for a shell and tools, the test's binaries with
# the shared libraries they need, extra files, and an /init that mounts the
# kernel filesystems, runs one command and powers the VM off.
#
# Usage:
#   tests/vm/mkinitramfs.sh --out FILE.cpio.gz|FILE.cpio.zst
#       [--file HOST_PATH[:VM_PATH]]...   copy a file (or a directory, recursively)
#       [--exec HOST_PATH[:VM_PATH]]...   copy an executable plus every library
#                                         `ldd` reports for it (and the loader),
#                                         each at its host path
#       -- CMD [ARGS...]                  what /init runs
#
# VM_PATH defaults to HOST_PATH. The path is split at its last ':'.
# The archive is gzip-compressed unless FILE ends in .zst (zstd).
#
# Inside the VM, /init runs CMD with stdout and stderr on the console
# (ttyS0) and stdin from /dev/null (from the console when the kernel command
# line holds bulwark.stdin=console, see run-vm.sh --interactive), then prints
# a line "BULWARK-VM-EXIT=<status>", syncs and powers off. If a mount fails
# it powers off WITHOUT that line, so run-vm.sh reports a harness failure.
set -eu

BUSYBOX=${BUSYBOX:-/bin/busybox}

# Applets the tests may rely on; building fails if busybox lacks one.
# Every other applet busybox has is linked too.
REQUIRED_APPLETS="sh cat ls ln mount umount mkdir rm mv cp echo sleep poweroff reboot
chmod grep sed head tail wc id kill true false stat sync dd touch"

# Mount points of /init: check_vm_path (harness-lib.sh) refuses paths there.
vm_mounts="/proc /sys /dev /tmp /run"
vm_mounter=/init
# shellcheck source-path=SCRIPTDIR source=harness-lib.sh
. "$(dirname "$0")/harness-lib.sh"

die() {
    echo "mkinitramfs: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit 2
}

out=""
files=()
execs=()
while [ $# -gt 0 ]; do
    case "$1" in
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --file) [ $# -ge 2 ] || usage; files+=("$2"); shift 2 ;;
    --exec) [ $# -ge 2 ] || usage; execs+=("$2"); shift 2 ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) echo "mkinitramfs: unknown argument '$1'" >&2; usage ;;
    esac
done
[ -n "$out" ] || { echo "mkinitramfs: --out is required" >&2; usage; }
[ $# -gt 0 ] || { echo "mkinitramfs: a command after -- is required" >&2; usage; }

for tool in cpio ldd find; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (scripts/install-deps.sh installs the test tools)"
done
case "$out" in
*.zst) compress=(zstd -q -T0 -c) ;;
*) compress=(gzip -n -6 -c) ;;
esac
command -v "${compress[0]}" >/dev/null 2>&1 || die "'${compress[0]}' not found"

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (apt-get install busybox-static)"
# A dynamically linked busybox (Debian's 'busybox' package) would need its
# libraries; insist on the static one.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked; install busybox-static (or set BUSYBOX=/path/to/static/busybox)"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- skeleton: merged /usr like Debian 12, so /lib64/ld-linux-x86-64.so.2,
# /bin/sh and /lib/x86_64-linux-gnu/... resolve as they do on the host.
mkdir -p "$stage"/usr/bin "$stage"/usr/sbin "$stage"/usr/lib "$stage"/usr/lib64 \
    "$stage"/etc "$stage"/root "$stage"/proc "$stage"/sys "$stage"/dev "$stage"/tmp \
    "$stage"/run "$stage"/var/log "$stage"/var/tmp "$stage"/mnt
harness_usr_merge

cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$stage/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo bulwark-vm >"$stage/etc/hostname"

# --- busybox and its applet links (all in /usr/bin; /bin is a link to it).
cp "$BUSYBOX" "$stage/usr/bin/busybox"
applets=$("$BUSYBOX" --list)
for a in $REQUIRED_APPLETS; do
    printf '%s\n' "$applets" | grep -qx "$a" || die "$BUSYBOX has no '$a' applet"
done
for a in $applets; do
    [ "$a" = busybox ] || ln -s busybox "$stage/usr/bin/$a"
done

# --- the test's files and executables, each executable with the libraries
# ldd reports for it (the check_vm_path, split_spec, install_one and libs_of
# of harness-lib.sh).
harness_install_files ${files[@]+"${files[@]}"}
for spec in ${execs[@]+"${execs[@]}"}; do
    harness_install_exec "$spec"
    while IFS= read -r lib; do
        [ -n "$lib" ] || continue
        # Same path as on the host: the loader path and RUNPATHs baked into
        # the binary then resolve unchanged.
        [ -e "$stage$lib" ] || install_one "$lib" "$lib"
    done < <(libs_of "$host")
done

# --- /init. CMD and ARGS are embedded single-quoted, so any characters
# survive unchanged.
shquote() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}
cmd_words=""
for arg in "$@"; do
    cmd_words="$cmd_words $(shquote "$arg")"
done

cat >"$stage/init" <<'EOF'
#!/bin/sh
# /init of a bulwark vm-test initramfs, generated by tests/vm/mkinitramfs.sh.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022
cd /

# Setup failures power off without the BULWARK-VM-EXIT line, so run-vm.sh
# reports them as harness failures (status 125), never as a test result.
fail() {
    echo "bulwark-vm-init: $*"
    echo "bulwark-vm-init: not running the test command"
    sync
    poweroff -f
    sleep 5
    reboot -f
}

# mnt TYPE DIR [OPTIONS]
mnt() {
    mkdir -p "$2" || fail "cannot create $2"
    mount -t "$1" -o "${3:-defaults}" "$1" "$2" || fail "cannot mount $1 on $2"
}

mnt proc /proc nosuid,nodev,noexec
mnt sysfs /sys nosuid,nodev,noexec
mnt devtmpfs /dev nosuid,mode=0755
# The kernel gave us /dev/console from its built-in initramfs; reopen it from
# devtmpfs to be sure stdout/stderr reach the serial console.
exec </dev/console >/dev/console 2>&1
mnt devpts /dev/pts nosuid,noexec,gid=5,mode=0620
mnt tmpfs /dev/shm nosuid,nodev,mode=1777
mnt tmpfs /tmp mode=1777
mnt tmpfs /run nosuid,nodev,mode=0755
mnt cgroup2 /sys/fs/cgroup nosuid,nodev,noexec
mnt bpf /sys/fs/bpf mode=0700
mnt securityfs /sys/kernel/security nosuid,nodev,noexec
mnt tracefs /sys/kernel/tracing nosuid,nodev,noexec
mnt debugfs /sys/kernel/debug nosuid,nodev,noexec
hostname -F /etc/hostname
# devtmpfs lacks these; bash process substitution and some tools use them.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

stdin=/dev/null
case " $(cat /proc/cmdline) " in
*" bulwark.stdin=console "*) stdin=/dev/console ;;
esac
EOF
cat >>"$stage/init" <<EOF

set --$cmd_words
EOF
cat >>"$stage/init" <<'EOF'
echo "bulwark-vm-init: running: $*"
# Tests that need PID 1 itself to act (the kernel treats it specially: for
# example bpf_send_signal refuses to signal it) write a path to
# /run/bulwark-pid1-open and send SIGUSR1: PID 1 then opens that file for
# reading once and writes the open's outcome to /run/bulwark-pid1-result.
pid1_open() {
    target=$(cat /run/bulwark-pid1-open 2>/dev/null) || return 0
    # `true` is a regular builtin: PID 1 itself opens the file for its
    # redirection, and a failed open fails the command, not the shell (a
    # failed redirection of `exec` or `:` would end PID 1).
    if { true <"$target"; } 2>/run/bulwark-pid1-error; then
        echo opened >/run/bulwark-pid1-result
    else
        echo failed >/run/bulwark-pid1-result
    fi
}
trap pid1_open USR1
"$@" <"$stdin" &
child=$!
# wait returns early (status > 128) when the trap runs; wait again until the
# command has really ended.
while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
done
# Own line even if the command's output did not end in a newline.
printf '\nBULWARK-VM-EXIT=%s\n' "$status"
sync
poweroff -f
# Only reached if poweroff failed; with qemu -no-reboot a reboot ends qemu too.
sleep 5
reboot -f
EOF
chmod 0755 "$stage/init"

# --- archive
harness_write_archive "$out" "${compress[@]}"
echo "mkinitramfs: wrote $out ($(du -h "$out" | cut -f1)), command:$cmd_words"
