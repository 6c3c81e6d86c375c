#!/bin/sh
# Builds bulwark-smoke_1.0_all.deb, the package the system tier's smoke test
# installs and purges in the VM. It ships a Type=notify service (a shell
# loop) with ExecReload and WatchdogSec, like bulwark.service, and maintainer
# scripts written the way dh_installsystemd writes them (deb-systemd-helper,
# deb-systemd-invoke, systemctl daemon-reload), minus the "|| true" that
# would hide a failure.
#
# Usage: tests/system/smoke/make-smoke-deb.sh OUT.deb
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUT.deb" >&2; exit 2; }
out=$1
command -v dpkg-deb >/dev/null 2>&1 || { echo "make-smoke-deb: dpkg-deb not found" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-smoke-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
umask 022
chmod 0755 "$root"
mkdir -p "$root/DEBIAN" "$root/usr/lib/systemd/system" "$root/usr/libexec/bulwark-smoke"

# Depends on packages of this machine: in the VM they are "installed"
# because its dpkg database is a copy of this machine's.
cat >"$root/DEBIAN/control" <<'EOF'
Package: bulwark-smoke
Version: 1.0
Architecture: all
Maintainer: bulwark developers <bulwark@localhost>
Depends: systemd, init-system-helpers, bash
Section: admin
Priority: optional
Description: bulwark system-tier smoke test package
 A notify service with reload and watchdog, installed and purged by the
 system_boot_smoke test in a VM.
EOF

cat >"$root/usr/lib/systemd/system/bulwark-smoke.service" <<'EOF'
[Unit]
Description=bulwark system-tier smoke service
After=local-fs.target

[Service]
Type=notify
NotifyAccess=all
ExecStart=/usr/libexec/bulwark-smoke/daemon
ExecReload=/bin/kill -HUP $MAINPID
WatchdogSec=3
Restart=on-failure
RestartSec=1
StateDirectory=bulwark-smoke

[Install]
WantedBy=multi-user.target
EOF

# The daemon: records each start and reload in /var/lib/bulwark-smoke and
# the journal, pings the watchdog every second.
cat >"$root/usr/libexec/bulwark-smoke/daemon" <<'EOF'
#!/bin/bash
state=${STATE_DIRECTORY:-/var/lib/bulwark-smoke}
echo "started $$" >>"$state/starts"
echo "bulwark-smoke: started, pid $$"
reloads=0
on_hup() {
    systemd-notify RELOADING=1
    reloads=$((reloads + 1))
    echo "reloaded $reloads" >>"$state/reloads"
    echo "bulwark-smoke: reloaded ($reloads)"
    systemd-notify --ready "STATUS=reloaded $reloads times"
}
trap on_hup HUP
trap 'echo "bulwark-smoke: stopping"; exit 0' TERM
systemd-notify --ready "STATUS=running"
while :; do
    systemd-notify WATCHDOG=1
    # In the background, so a signal is handled at once.
    sleep 1 &
    wait $! || true
done
EOF
chmod 0755 "$root/usr/libexec/bulwark-smoke/daemon"

cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    deb-systemd-helper unmask bulwark-smoke.service
    # was-enabled is true on a first installation, so this enables.
    if deb-systemd-helper --quiet was-enabled bulwark-smoke.service; then
        deb-systemd-helper enable bulwark-smoke.service
    else
        deb-systemd-helper update-state bulwark-smoke.service
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload
        deb-systemd-invoke start bulwark-smoke.service
    fi
fi
EOF
cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    deb-systemd-invoke stop bulwark-smoke.service
fi
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload
fi
if [ "$1" = remove ]; then
    deb-systemd-helper mask bulwark-smoke.service
fi
if [ "$1" = purge ]; then
    deb-systemd-helper purge bulwark-smoke.service
    deb-systemd-helper unmask bulwark-smoke.service
    rm -rf /var/lib/bulwark-smoke
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group --build "$root" "$out.tmp" >/dev/null
mv "$out.tmp" "$out"
echo "make-smoke-deb: wrote $out"
