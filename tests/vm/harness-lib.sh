# shellcheck shell=bash
# shellcheck disable=SC2154 # stage, vm_mounts, vm_mounter, usage: the sourcing script's
# What the vm tier (tests/vm) and the system tier (tests/system) share in
# their bash scripts. Sourced, never run:
#   mkinitramfs.sh, mkrootfs.sh         building the VM's root filesystem
#   run-vm-test.sh, run-system-test.sh  one test, start to end
# The sourcing script defines die() (its message prefix and exit status).

# This directory: fetch-kernel.sh and run-vm.sh are here.
harness_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# --- building the root filesystem (mkinitramfs.sh, mkrootfs.sh). These work
# on $stage, the directory that becomes the archive.

# The merged-/usr links of Debian 12, and the modes of /tmp, /var/tmp and
# /root (the skeleton's directories exist already).
harness_usr_merge() {
    ln -s usr/bin "$stage/bin"
    ln -s usr/sbin "$stage/sbin"
    ln -s usr/lib "$stage/lib"
    ln -s usr/lib64 "$stage/lib64"
    chmod 1777 "$stage/tmp" "$stage/var/tmp"
    chmod 0700 "$stage/root"
}

# check_vm_path PATH: PATH is absolute and not under a mount point of the VM
# ($vm_mounts, mounted by $vm_mounter, both set by the sourcing script):
# anything put there would be hidden by the mount, so refuse instead of
# silently losing it.
check_vm_path() {
    case "$1" in
    /*) ;;
    *) die "VM path '$1' is not absolute" ;;
    esac
    local dir
    for dir in $vm_mounts; do
        case "$1" in
        "$dir" | "$dir"/*)
            die "VM path '$1' is under a filesystem $vm_mounter mounts ($vm_mounts); it would be hidden" ;;
        esac
    done
}

# split_spec SPEC [DEFAULT_VM] -> sets host, vm. "HOST:VM" splits at the last
# ':'; "HOST" alone means DEFAULT_VM, else the same path in the VM.
split_spec() {
    case "$1" in
    *:*) host=${1%:*}; vm=${1##*:} ;;
    *) host=$1; vm=${2:-$1} ;;
    esac
    if [ -z "$host" ] || [ -z "$vm" ]; then die "bad spec '$1' (want HOST_PATH[:VM_PATH])"; fi
    [ -e "$host" ] || die "'$host' does not exist"
    check_vm_path "$vm"
}

# install_one HOST VM: copy one file, following symlinks on the host side. An
# existing entry at VM (e.g. a busybox applet link) is replaced, never
# written through.
install_one() {
    mkdir -p "$stage$(dirname "$2")"
    cp -L --remove-destination "$1" "$stage$2"
}

# harness_install_files SPEC...: the --file options, each a file or a
# directory (copied recursively).
harness_install_files() {
    local spec
    for spec in "$@"; do
        split_spec "$spec"
        if [ -d "$host" ]; then
            mkdir -p "$stage$vm"
            cp -RL "$host/." "$stage$vm/"
        else
            install_one "$host" "$vm"
        fi
    done
}

# harness_install_exec SPEC: one --exec option (sets host, vm). Its libraries
# are the caller's business (libs_of).
harness_install_exec() {
    split_spec "$1"
    if [ ! -f "$host" ] || [ ! -x "$host" ]; then die "--exec '$host' is not an executable file"; fi
    install_one "$host" "$vm"
}

# missing_lib_ok FILE LIB: whether libs_of may pass over LIB, which ldd
# reports "not found" for FILE. Never, unless the sourcing script redefines it.
missing_lib_ok() {
    return 1
}

# libs_of FILE: the libraries ldd reports for FILE, as absolute host paths,
# one per line. Fails on "not found" (see missing_lib_ok) so a test never
# boots with a binary that cannot start.
libs_of() {
    local lddout
    if ! lddout=$(ldd "$1" 2>&1); then
        case "$lddout" in
        *"not a dynamic executable"*) return 0 ;; # static binary or a script
        *) die "ldd $1 failed: $lddout" ;;
        esac
    fi
    case "$lddout" in
    *"statically linked"*) return 0 ;;
    esac
    local missing lib
    missing=$(printf '%s\n' "$lddout" | awk '$2 == "=>" && $3 == "not" { print $1 }')
    for lib in $missing; do
        missing_lib_ok "$1" "$lib" || die "ldd $1 reports missing libraries:
$lddout"
    done
    # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
    # "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
    printf '%s\n' "$lddout" | awk '
        $2 == "=>" && $3 ~ /^\// { print $3; next }
        $1 ~ /^\// { print $1 }'
}

# harness_write_archive OUT COMPRESSOR...: $stage as a newc cpio archive,
# everything owned by root, sorted for stable output, piped through
# COMPRESSOR into OUT (written whole or not at all).
harness_write_archive() {
    local out=$1
    shift
    mkdir -p "$(dirname "$out")"
    (cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --quiet --null -o -H newc -R 0:0 --reproducible) |
        "$@" >"$out.tmp"
    mv "$out.tmp" "$out"
}

# --- running one test (run-vm-test.sh, run-system-test.sh)

# harness_runner_opt "$@": takes the option at $1 if it is one both runners
# have (--work, --kernel-dir, --file, --exec, --smp, --mem, --interactive,
# --help) and sets harness_shift to the number of words it used; returns 1
# for any other. Sets work and kernel_dir, appends to mk_args (for the
# root filesystem builder) and vm_args (for run-vm.sh).
# shellcheck disable=SC2034 # harness_shift, for the caller
harness_runner_opt() {
    case "$1" in
    --work) [ $# -ge 2 ] || usage; work=$2; harness_shift=2 ;;
    --kernel-dir) [ $# -ge 2 ] || usage; kernel_dir=$2; harness_shift=2 ;;
    --file | --exec) [ $# -ge 2 ] || usage; mk_args+=("$1" "$2"); harness_shift=2 ;;
    --smp | --mem) [ $# -ge 2 ] || usage; vm_args+=("$1" "$2"); harness_shift=2 ;;
    --interactive) vm_args+=("$1"); harness_shift=1 ;;
    -h | --help) usage ;;
    *) return 1 ;;
    esac
}

# harness_work_dir: creates $work and makes it absolute; kernel_dir defaults
# to $BULWARK_VM_KERNEL_DIR, else $work/../vm-kernel.
harness_work_dir() {
    mkdir -p "$work"
    work=$(cd "$work" && pwd)
    kernel_dir=${kernel_dir:-${BULWARK_VM_KERNEL_DIR:-$work/../vm-kernel}}
}

# harness_fetch_kernel NAME: fetches (or finds cached) the kernel into
# $kernel_dir; exits 125 if it cannot, NAME prefixing the message.
harness_fetch_kernel() {
    "$harness_dir/fetch-kernel.sh" "$kernel_dir" ||
        { echo "$1: could not fetch the VM kernel into $kernel_dir" >&2; exit 125; }
}
