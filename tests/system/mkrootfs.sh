#!/bin/bash
# Builds the initramfs a system test boots. The initramfs IS the VM's root
# filesystem (merged /usr like Debian 12): systemd as PID 1 with journald, the
# everyday shell tools, dpkg with a copy of this machine's package database,
# perl-base (for deb-systemd-helper and deb-systemd-invoke), the test's files,
# and a unit that runs the test script once the system is up and then powers
# the VM off. Everything is copied from the machine that builds it, executables
# together with every library `ldd` reports for them.
#
# Usage:
#   tests/system/mkrootfs.sh --out FILE.cpio.zst
#       [--file HOST_PATH[:VM_PATH]]...  copy a file (or a directory, recursively)
#       [--exec HOST_PATH[:VM_PATH]]...  copy an executable plus every library
#                                        `ldd` reports for it, each at its host path
#       [--deb HOST_PATH[:VM_PATH]]...   copy a .deb (VM_PATH defaults to
#                                        /root/<its file name>) plus the libraries
#                                        its ELF files need, so `dpkg -i` of it in
#                                        the VM gives programs that can start
#       --test SCRIPT                    the test, run once the system is up
#
# VM_PATH defaults to HOST_PATH (split at the last ':'). Paths under /proc,
# /sys, /dev and /run are refused: systemd mounts filesystems there.
#
# In the VM, bulwark-system-test.service runs SCRIPT (installed as
# /usr/libexec/bulwark-system-test/run, next to the helpers of
# tests/system/lib.sh in lib.sh) as root in /root after
# multi-user.target, with stdout and stderr on the serial console (ttyS0) and
# stdin from /dev/null. When it has exited the unit prints, on ttyS0, the
# failed units and the journal's tail if the status is not 0, then a line
# "BULWARK-VM-EXIT=<status>", and starts poweroff.target. If the unit ends
# abnormally (killed, the script cannot be started) the VM powers off WITHOUT
# that line, so the harness reports a harness failure, never a result.
#
# Boot it with the kernel command line
#   rdinit=/lib/systemd/systemd systemd.show_status=0 console=ttyS0 panic=-1
# (tests/system/run-system-test.sh does all of this).
#
# The package database is this machine's /var/lib/dpkg/status (plus
# diversions), with an empty file list per package: `dpkg -i` of a package
# built here finds its dependencies "installed", but only the files this
# script copies really are. --deb and --exec bring the shared libraries.
set -eu -o pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
# Mount points of systemd: check_vm_path (harness-lib.sh) refuses paths there.
vm_mounts="/proc /sys /dev /run"
vm_mounter=systemd
# shellcheck source-path=SCRIPTDIR source=../vm/harness-lib.sh
. "$here/../vm/harness-lib.sh"

die() {
    echo "mkrootfs: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit 2
}

out="" test_script=""
files=()
execs=()
debs=()
while [ $# -gt 0 ]; do
    case "$1" in
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --file) [ $# -ge 2 ] || usage; files+=("$2"); shift 2 ;;
    --exec) [ $# -ge 2 ] || usage; execs+=("$2"); shift 2 ;;
    --deb) [ $# -ge 2 ] || usage; debs+=("$2"); shift 2 ;;
    --test) [ $# -ge 2 ] || usage; test_script=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "mkrootfs: unknown argument '$1'" >&2; usage ;;
    esac
done
[ -n "$out" ] || { echo "mkrootfs: --out is required" >&2; usage; }
[ -n "$test_script" ] || { echo "mkrootfs: --test is required" >&2; usage; }
[ -f "$test_script" ] || die "test script '$test_script' not found"
case "$out" in
*.zst) ;;
*) die "--out must end in .zst (the archive is zstd-compressed)" ;;
esac

for tool in cpio ldd find zstd dpkg-query dpkg-deb; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (scripts/install-deps.sh installs the test tools)"
done

# What the VM runs, copied from this machine. Packages whose files are all
# copied (minus documentation), and single files of other packages.
WHOLE_PKGS="bash dash coreutils grep sed mawk findutils diffutils tar hostname
dpkg init-system-helpers perl-base"
# systemd: PID 1, journald, shutdown, and the command line tools a test uses.
SYSTEMD_FILES="/usr/lib/systemd/systemd /usr/lib/systemd/systemd-journald
/usr/lib/systemd/systemd-shutdown
/usr/bin/systemctl /usr/bin/journalctl /usr/bin/systemd-cat /usr/bin/systemd-notify
/usr/bin/systemd-run /usr/bin/systemd-tmpfiles /usr/bin/systemd-escape
/usr/bin/systemd-analyze /usr/bin/systemd-cgls /usr/bin/systemd-id128
/usr/bin/systemd-sysusers"
# Units: every target (small, and units like to order themselves after
# network.target & co.), journald with its sockets, the shutdown services,
# and the tracefs/debugfs mounts. Nothing else starts: no udev, getty,
# logind, D-Bus, networkd, tmpfiles-setup, generators.
SYSTEMD_UNITS="systemd-journald.service systemd-journald.socket
systemd-journald-dev-log.socket systemd-journald-audit.socket
systemd-poweroff.service systemd-reboot.service systemd-halt.service systemd-exit.service
sys-kernel-debug.mount sys-kernel-tracing.mount"
SOCKETS_WANTS="systemd-journald.socket systemd-journald-dev-log.socket systemd-journald-audit.socket"
SYSINIT_WANTS="systemd-journald.service sys-kernel-debug.mount sys-kernel-tracing.mount"
OTHER_FILES="/usr/bin/mount /usr/bin/umount /usr/bin/findmnt /usr/bin/mountpoint
/usr/bin/dmesg /usr/bin/setsid /usr/bin/nsenter /usr/bin/unshare /usr/bin/flock
/usr/bin/getopt /usr/bin/logger /usr/bin/prlimit /usr/bin/taskset /usr/bin/setpriv
/usr/sbin/runuser /usr/bin/lsns
/usr/bin/ps /usr/bin/pgrep /usr/bin/pkill /usr/bin/pidwait /usr/bin/kill /usr/sbin/sysctl
/usr/bin/free /usr/bin/uptime
/usr/sbin/ldconfig /usr/bin/getent /usr/bin/ldd
/usr/lib/os-release"

stage=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-rootfs.XXXXXX")
# Beside the stage: the list of ELF files copied, and the unpacked --debs.
elf_list=$stage.elf
debroot=$stage.debs
trap 'rm -rf "$stage" "$elf_list" "$debroot"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- skeleton: merged /usr like Debian 12. Host paths from the package lists
# (/bin/bash, /lib/systemd/...) land in /usr through these links.
mkdir -p "$stage"/usr/bin "$stage"/usr/sbin "$stage"/usr/lib "$stage"/usr/lib64 \
    "$stage"/usr/local/bin "$stage"/usr/local/sbin "$stage"/usr/libexec \
    "$stage"/etc "$stage"/root "$stage"/home "$stage"/proc "$stage"/sys "$stage"/dev \
    "$stage"/run "$stage"/tmp "$stage"/mnt "$stage"/opt "$stage"/srv \
    "$stage"/var/lib "$stage"/var/log "$stage"/var/tmp "$stage"/var/cache "$stage"/var/spool
harness_usr_merge
ln -s /run "$stage/var/run"
ln -s /run/lock "$stage/var/lock"

# Every ELF file copied is remembered here; their libraries are added at the
# end, in one pass.
: >"$elf_list"
is_elf() {
    local magic=""
    IFS= read -r -d '' -n 4 magic <"$1" 2>/dev/null || true
    [ "$magic" = $'\x7fELF' ]
}
note_elf() {
    if is_elf "$1"; then printf '%s\n' "$1" >>"$elf_list"; fi
}

# Host paths copied to the same path in the VM (a symlink as a symlink),
# collected first and copied by one cp, which keeps hard links (perl and
# perl5.36.0 are one file) and lets /bin/... land in /usr/bin through the
# skeleton's links.
declare -A wanted=()
host_paths=()
want() {
    [ -z "${wanted[$1]:-}" ] || return 0
    wanted[$1]=1
    host_paths+=("$1")
}

# add_host_path PATH: a file or symlink of this machine (a symlink's target
# is not followed: name it too if it is needed).
add_host_path() {
    if [ -L "$1" ] || [ -f "$1" ]; then
        want "$1"
    else
        die "'$1' not found on this machine (or not a file)"
    fi
}

# add_package PKG: every file and symlink of an installed package, without
# documentation, manuals, translations and shell completions.
add_package() {
    local list p
    list=$(dpkg-query -L "$1" 2>/dev/null) || die "package '$1' is not installed (scripts/install-deps.sh)"
    while IFS= read -r p; do
        case "$p" in
        /usr/share/doc/* | /usr/share/doc-base/* | /usr/share/man/* | /usr/share/info/* | \
            /usr/share/locale/* | /usr/share/lintian/* | /usr/share/bash-completion/* | \
            /usr/share/zsh/* | /usr/share/fish/* | /usr/share/bug/* | /usr/share/menu/* | \
            /.) continue ;;
        esac
        if [ -L "$p" ] || [ -f "$p" ]; then want "$p"; fi
    done <<<"$list"
}

for pkg in $WHOLE_PKGS; do
    add_package "$pkg"
done
for f in $SYSTEMD_FILES $OTHER_FILES; do
    add_host_path "$f"
done
cp --parents -P --preserve=links -t "$stage" -- "${host_paths[@]}"
for f in "${host_paths[@]}"; do
    [ -L "$f" ] || note_elf "$f"
done

# Alternatives and links the packages' maintainer scripts would create.
ln -sf mawk "$stage/usr/bin/awk"
ln -sf dash "$stage/usr/bin/sh"
ln -sf ../lib/systemd/systemd "$stage/usr/sbin/init"
ln -sf ../usr/lib/os-release "$stage/etc/os-release"
ln -sf ../proc/self/mounts "$stage/etc/mtab"

# --- systemd units
unitdir=$stage/usr/lib/systemd/system
mkdir -p "$unitdir"
cp /usr/lib/systemd/system/*.target "$unitdir/"
for u in $SYSTEMD_UNITS; do
    cp "/usr/lib/systemd/system/$u" "$unitdir/$u"
done
# The host's default.target may be graphical.target.
ln -sf multi-user.target "$unitdir/default.target"
mkdir -p "$unitdir/sockets.target.wants" "$unitdir/sysinit.target.wants"
for u in $SOCKETS_WANTS; do ln -s "../$u" "$unitdir/sockets.target.wants/$u"; done
for u in $SYSINIT_WANTS; do ln -s "../$u" "$unitdir/sysinit.target.wants/$u"; done
mkdir -p "$stage"/etc/systemd/system/multi-user.target.wants "$stage"/etc/systemd/system.conf.d \
    "$stage"/usr/lib/systemd/system-shutdown "$stage"/usr/lib/tmpfiles.d \
    "$stage"/usr/lib/sysusers.d "$stage"/etc/tmpfiles.d

# --- /etc. A populated machine-id: no "first boot" (which would apply
# presets and enable every unit with an [Install] section).
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$stage/etc/machine-id"
echo >>"$stage/etc/machine-id"
echo bulwark-vm >"$stage/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbulwark-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$stage/etc/hosts"
: >"$stage/etc/fstab"
printf 'passwd: files\ngroup: files\nshadow: files\ngshadow: files\nhosts: files\n' >"$stage/etc/nsswitch.conf"
# Debian's base-passwd users and groups, plus the ones systemd uses.
cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$stage/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
kmem:x:15:
dialout:x:20:
cdrom:x:24:
sudo:x:27:
audio:x:29:
utmp:x:43:
video:x:44:
plugdev:x:46:
staff:x:50:
users:x:100:
systemd-journal:x:101:
input:x:102:
kvm:x:103:
render:x:104:
sgx:x:105:
nogroup:x:65534:
EOF
printf 'root:*:19000:0:99999:7:::\n' >"$stage/etc/shadow"
chmod 0640 "$stage/etc/shadow"
printf '/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/dash\n/usr/bin/dash\n' >"$stage/etc/shells"
mkdir -p "$stage"/etc/logrotate.d "$stage"/etc/default "$stage"/etc/dpkg/dpkg.cfg.d

# --- dpkg database: this machine's status and diversions, an empty file
# list per package (else dpkg warns once per package that it is missing).
dpkgdir=$stage/var/lib/dpkg
mkdir -p "$dpkgdir"/info "$dpkgdir"/updates "$dpkgdir"/triggers "$dpkgdir"/alternatives "$dpkgdir"/parts
cp /var/lib/dpkg/status "$dpkgdir/status"
[ ! -f /var/lib/dpkg/diversions ] || cp /var/lib/dpkg/diversions "$dpkgdir/diversions"
[ ! -f /var/lib/dpkg/info/format ] || cp /var/lib/dpkg/info/format "$dpkgdir/info/format"
# Not the host's statoverride: it names users and groups the VM lacks, and
# dpkg refuses to run when it cannot resolve one.
: >"$dpkgdir/statoverride"
: >"$dpkgdir/available"
for l in /var/lib/dpkg/info/*.list; do
    : >"$dpkgdir/info/${l##*/}"
done
: >"$stage/var/log/dpkg.log"

# --- the test's files (the check_vm_path, split_spec and install_one of
# harness-lib.sh)
harness_install_files ${files[@]+"${files[@]}"}
for spec in ${execs[@]+"${execs[@]}"}; do
    harness_install_exec "$spec"
    note_elf "$host"
done
# Each .deb is unpacked (under $debroot, deleted at the end) only to find the
# libraries its ELF files need; the libraries pass below runs ldd on them.
n=0
for spec in ${debs[@]+"${debs[@]}"}; do
    split_spec "$spec" "/root/${spec##*/}"
    case "$host" in *.deb) ;; *) die "--deb '$host' is not a .deb" ;; esac
    install_one "$host" "$vm"
    n=$((n + 1))
    mkdir -p "$debroot/$n"
    dpkg-deb -x "$host" "$debroot/$n" || die "dpkg-deb -x $host failed"
    while IFS= read -r -d '' f; do
        note_elf "$f"
    done < <(find "$debroot/$n" -type f -print0)
done

# --- the test and the unit that runs it
libexec=$stage/usr/libexec/bulwark-system-test
mkdir -p "$libexec"
cp "$test_script" "$libexec/run"
chmod 0755 "$libexec/run"
cp "$here/lib.sh" "$libexec/lib.sh"

cat >"$libexec/wrapper" <<'EOF'
#!/bin/bash
# Runs the system test and reports its status on the serial console, then
# powers the VM off. Generated by tests/system/mkrootfs.sh.
echo "bulwark-system-test: system up after $(cut -d' ' -f1 /proc/uptime) s; running the test"
/usr/libexec/bulwark-system-test/run </dev/null
status=$?
# Reopen the console: a test that made ttyS0 its controlling terminal
# (shell.sh) leaves our descriptor hung up when its session ends.
exec >/dev/ttyS0 2>&1
if [ "$status" -ne 0 ]; then
    echo "bulwark-system-test: ---- failed units ----"
    systemctl --no-pager --failed 2>&1
    echo "bulwark-system-test: ---- journal, last 150 lines ----"
    journalctl -b --no-pager -o short-monotonic -n 150 2>&1
    echo "bulwark-system-test: ---- end of journal ----"
fi
touch /run/bulwark-system-test.reported
# Own line even if the test's output did not end in a newline.
printf '\nBULWARK-VM-EXIT=%s\n' "$status"
sync
exec systemctl start poweroff.target --job-mode=replace-irreversibly --no-block
EOF
chmod 0755 "$libexec/wrapper"

# ExecStopPost: when the wrapper did not report (killed, could not start),
# say so and power off without the marker line.
cat >"$libexec/stop-post" <<'EOF'
#!/bin/bash
[ ! -e /run/bulwark-system-test.reported ] || exit 0
echo "bulwark-system-test: the test unit ended without reporting a status (result $SERVICE_RESULT, $EXIT_CODE $EXIT_STATUS); powering off"
sync
systemctl start poweroff.target --job-mode=replace-irreversibly --no-block
EOF
chmod 0755 "$libexec/stop-post"

# Type=exec, not oneshot: the boot job completes when the test starts, so
# `systemctl is-system-running --wait` inside the test returns.
# DefaultDependencies=no: with the default ones multi-user.target (which
# wants this unit) would be ordered after it, a cycle with After= below.
cat >"$stage/etc/systemd/system/bulwark-system-test.service" <<'EOF'
[Unit]
Description=bulwark system test
DefaultDependencies=no
After=multi-user.target
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=exec
ExecStart=/usr/libexec/bulwark-system-test/wrapper
ExecStopPost=/usr/libexec/bulwark-system-test/stop-post
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
WorkingDirectory=/root
Environment=HOME=/root LANG=C.UTF-8
# The console is a tty: keep systemctl/journalctl from paging, colouring
# and cutting lines at 80 columns.
Environment=SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 COLUMNS=200
TimeoutStopSec=15
EOF
ln -s ../bulwark-system-test.service \
    "$stage/etc/systemd/system/multi-user.target.wants/bulwark-system-test.service"

# --- libraries of every ELF file copied, at their host paths (the loader
# path and RUNPATHs baked into the binaries then resolve unchanged). Fails
# on "not found", so the VM never boots with a program that cannot start.
# (libs_of of harness-lib.sh.)
missing_lib_ok() {
    # A library a .deb ships itself is found once it is installed.
    case "$1" in
    "$debroot"/*) [ -n "$(find "$debroot" -name "$2" -print -quit)" ] ;;
    *) return 1 ;;
    esac
}
sort -u "$elf_list" | while IFS= read -r f; do
    libs_of "$f"
done | sort -u | while IFS= read -r lib; do
    [ -e "$stage$lib" ] || install_one "$lib" "$lib"
done
rm -rf "$debroot"

# --- archive
harness_write_archive "$out" zstd -q -T0 -10 -c
echo "mkrootfs: wrote $out ($(du -h "$out" | cut -f1); $(du -sh --apparent-size "$stage" | cut -f1) unpacked)"
