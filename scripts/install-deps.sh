#!/bin/sh
# Installs every Debian package bulwark needs to build, run and test.
# Usage: scripts/install-deps.sh [--run-only | --bench]
#   --bench: also what the benchmark suite needs (bench/run.sh): bpftrace,
#   matplotlib, and the libraries of auditd and fapolicyd, which it unpacks
#   for the benchmark VM without installing them.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: must run as root (apt-get install)" >&2
    exit 1
fi

BUILD_PKGS="cmake make g++ clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev \
libyaml-dev libspdlog-dev libfmt-dev libsystemd-dev nlohmann-json3-dev libcli11-dev libssl-dev dpkg-dev"
BENCH_PKGS="bpftrace python3-matplotlib liblmdb0 libmagic1 libmagic-mgc libseccomp2 libcap-ng0 libudev1 \
libauparse0 libaudit1 libwrap0 libkrb5-3 libgssapi-krb5-2"
TEST_PKGS="catch2 qemu-system-x86 busybox-static cpio zstd e2fsprogs btrfs-progs xfsprogs kmod python3-jsonschema python3-yaml libclang-rt-14-dev systemd procps"

pkgs="$BUILD_PKGS"
case "${1:-}" in
--run-only) ;;
--bench) pkgs="$pkgs $TEST_PKGS $BENCH_PKGS" ;;
*) pkgs="$pkgs $TEST_PKGS" ;;
esac

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
else
    echo "install-deps: all packages present"
fi
