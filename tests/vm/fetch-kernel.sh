#!/bin/sh
# Fetches the kernel the vm test tier boots: Debian's current cloud kernel
# (linux-image-cloud-amd64 -> linux-image-<abi>-cloud-amd64). The package is
# only downloaded and unpacked, never installed on this machine.
#
# Usage: tests/vm/fetch-kernel.sh OUTDIR
#
# Produces OUTDIR/vmlinuz, OUTDIR/config (the kernel's .config),
# OUTDIR/version (its release, as `uname -r` prints it in the VM) and
# OUTDIR/package ("<package> <version>") and OUTDIR/modules/ (the modules
# filesystem tests load: everything below kernel/fs, kernel/lib,
# kernel/crypto and kernel/drivers/block, with modules.dep). Idempotent: when
# OUTDIR/vmlinuz exists nothing is done (delete OUTDIR to get a newer
# kernel). vmlinuz is written last, so its presence means the fetch completed.
set -eu

META_PKG=linux-image-cloud-amd64

die() {
    echo "fetch-kernel: error: $*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
outdir=$1

if [ -f "$outdir/vmlinuz" ] && [ -f "$outdir/modules/modules.dep" ]; then
    echo "fetch-kernel: $outdir/vmlinuz already present ($(cat "$outdir/version" 2>/dev/null || echo '?'))"
    exit 0
fi

for tool in apt-cache apt-get dpkg dpkg-deb flock; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (this script needs a Debian-based machine)"
done

mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)

# Serialize concurrent fetches into the same OUTDIR (e.g. ctest -j).
exec 9>"$outdir/.lock"
flock 9
if [ -f "$outdir/vmlinuz" ] && [ -f "$outdir/modules/modules.dep" ]; then
    echo "fetch-kernel: $outdir/vmlinuz fetched by a concurrent run"
    exit 0
fi

# Resolve the metapackage to the concrete ABI package, e.g.
# linux-image-6.1.0-56-cloud-amd64. Never hardcode the ABI number.
resolve() {
    apt-cache depends "$META_PKG" 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-kernel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# apt-get download drops privileges to the _apt user when run as root; that
# user must be able to write the download directory, or apt warns and
# downloads unsandboxed.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$tmp"
fi

fetch() {
    pkg=$(resolve)
    [ -n "$pkg" ] || return 1
    echo "fetch-kernel: $META_PKG -> $pkg, downloading"
    (cd "$tmp" && apt-get download -q "$pkg") || return 1
}

if ! fetch; then
    # A stale or missing package index is the usual cause: the ABI package
    # it names may be gone from the mirror. Refresh it once (needs root).
    if [ "$(id -u)" -eq 0 ]; then
        echo "fetch-kernel: resolving/downloading failed; running apt-get update and retrying"
        apt-get update -q || die "apt-get update failed"
        fetch || die "cannot resolve or download $META_PKG's kernel package (see apt's messages above)"
    else
        die "cannot resolve or download $META_PKG's kernel package; run 'apt-get update' as root and retry"
    fi
fi

set -- "$tmp"/linux-image-*.deb
deb=$1
[ -f "$deb" ] || die "apt-get download produced no .deb in $tmp"
pkgname=$(dpkg-deb -f "$deb" Package)
pkgversion=$(dpkg-deb -f "$deb" Version)

dpkg -x "$deb" "$tmp/root" || die "dpkg -x $deb failed"
set -- "$tmp"/root/boot/vmlinuz-*
vmlinuz=$1
[ -f "$vmlinuz" ] || die "$deb contains no /boot/vmlinuz-*"
release=${vmlinuz##*/vmlinuz-}
[ -f "$tmp/root/boot/config-$release" ] || die "$deb contains no /boot/config-$release"

cp "$tmp/root/boot/config-$release" "$outdir/config"
moddir=$tmp/root/lib/modules/$release
[ -d "$moddir/kernel" ] || die "$deb contains no lib/modules/$release/kernel"
# The package has no modules.dep (the installer's depmod writes it): make it.
depmod=$(command -v depmod || echo /usr/sbin/depmod)
"$depmod" -b "$tmp/root" "$release" || die "depmod -b $tmp/root $release failed (package kmod)"
[ -f "$moddir/modules.dep" ] || die "depmod wrote no $moddir/modules.dep"
rm -rf "$outdir/modules" "$outdir/modules.tmp"
mkdir -p "$outdir/modules.tmp/kernel"
for sub in fs lib crypto drivers/block; do
    [ -d "$moddir/kernel/$sub" ] || continue
    mkdir -p "$outdir/modules.tmp/kernel/$sub"
    cp -R "$moddir/kernel/$sub/." "$outdir/modules.tmp/kernel/$sub/"
done
cp "$moddir/modules.dep" "$outdir/modules.tmp/modules.dep"
mv "$outdir/modules.tmp" "$outdir/modules"
echo "$release" >"$outdir/version"
echo "$pkgname $pkgversion" >"$outdir/package"
# Last, and atomically: vmlinuz marks a complete fetch.
cp "$vmlinuz" "$outdir/vmlinuz.tmp"
mv "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"

echo "fetch-kernel: $pkgname $pkgversion (kernel $release) -> $outdir"
