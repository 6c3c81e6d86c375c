#!/bin/bash
# system_boot_smoke: runs inside the VM (as bulwark-system-test.service).
# Checks that the VM is a real systemd system the bulwark tests can rely
# on: systemd is PID 1, the boot finished without failed units, journald
# stores entries with custom fields, and a .deb with a notify service
# installs (maintainer scripts: deb-systemd-helper, deb-systemd-invoke,
# daemon-reload), starts, reloads, is restarted by the watchdog when it
# hangs, and purges without a trace.
# shellcheck source=tests/system/lib.sh
. /usr/libexec/bulwark-system-test/lib.sh

DEB=/root/bulwark-smoke.deb
UNIT=bulwark-smoke.service
tag=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')

# --- systemd
check_eq "PID 1 is systemd" systemd "$(cat /proc/1/comm)"
check_eq "PID 1 runs /usr/lib/systemd/systemd" /usr/lib/systemd/systemd "$(readlink /proc/1/exe)"
check "booted with systemd (/run/systemd/system)" test -d /run/systemd/system
state=$(timeout 60 systemctl is-system-running --wait 2>&1)
check_eq "boot finished, no failed units (is-system-running)" running "$state"
[ "$state" = running ] || systemctl --no-pager --failed | sed 's/^/#   /'
check_eq "systemd-journald is active" active "$(systemctl is-active systemd-journald)"
check_eq "this test runs in bulwark-system-test.service" \
    /system.slice/bulwark-system-test.service "$(cut -d: -f3- /proc/self/cgroup)"
# What bulwarkd needs from the system: bpffs for pinning, BPF LSM active.
check_eq "bpffs is mounted on /sys/fs/bpf" bpf "$(findmnt -n -o FSTYPE /sys/fs/bpf)"
check_eq "cgroup2 is mounted on /sys/fs/cgroup" cgroup2 "$(findmnt -n -o FSTYPE /sys/fs/cgroup)"
check_match "bpf is an active LSM" '(^|,)bpf(,|$)' "$(cat /sys/kernel/security/lsm)"

# --- journal
systemd-cat -t smoke echo "hello-$tag"
wait_journal 10 "systemd-cat line is in the journal" "\"MESSAGE\":\"hello-$tag\"" -t smoke
check_eq "its SYSLOG_IDENTIFIER is smoke" smoke \
    "$(journal_json -t smoke | grep -F "hello-$tag" | json_field SYSLOG_IDENTIFIER | head -n 1)"

# Custom fields: logger --journald sends FIELD=value lines as one entry.
# A MESSAGE_ID is 128 bits: 32 hex digits.
msgid=5e4c1c2a7f1d4b0e9a6b$tag
printf 'MESSAGE=custom-%s\nMESSAGE_ID=%s\nSYSLOG_IDENTIFIER=smoke\nSMOKE_FIELD=value-%s\nPRIORITY=4\n' \
    "$tag" "$msgid" "$tag" | logger --journald
wait_journal 10 "entry with a custom field, found by MESSAGE_ID" \
    "\"SMOKE_FIELD\":\"value-$tag\"" "MESSAGE_ID=$msgid"
entry=$(journal_json "MESSAGE_ID=$msgid")
check_eq "its MESSAGE" "custom-$tag" "$(json_field MESSAGE <<<"$entry")"
check_eq "its PRIORITY" 4 "$(json_field PRIORITY <<<"$entry")"
check_eq "journalctl matches on the custom field" "custom-$tag" \
    "$(journalctl -b -o cat "SMOKE_FIELD=value-$tag")"

# --- the package
check "dpkg -i $DEB" dpkg -i "$DEB"
check_eq "dpkg knows it installed" "install ok installed" \
    "$(dpkg-query -W -f='${Status}' bulwark-smoke 2>&1)"
check_eq "$UNIT is enabled" enabled "$(systemctl is-enabled $UNIT 2>&1)"
check_eq "$UNIT is active (notify: READY=1 arrived)" active "$(systemctl is-active $UNIT)"
pid=$(unit_prop $UNIT MainPID)
check "its StateDirectory holds the start marker" grep -qx "started $pid" /var/lib/bulwark-smoke/starts
wait_journal 10 "its stdout is in the journal under the unit" \
    "\"MESSAGE\":\"bulwark-smoke: started, pid $pid\"" -u $UNIT

check "systemctl reload $UNIT" systemctl reload $UNIT
wait_until 10 "the service handled SIGHUP" grep -qx "reloaded 1" /var/lib/bulwark-smoke/reloads
wait_until 10 "status text from the reload" unit_prop_is $UNIT StatusText "reloaded 1 times"
check_eq "it is active" active "$(systemctl is-active $UNIT)"
check_eq "same main PID after the reload" "$pid" "$(unit_prop $UNIT MainPID)"

# A hung daemon: the watchdog (WatchdogSec=3) kills it, Restart= starts it.
kill -STOP "$pid"
wait_until 20 "watchdog + Restart=on-failure restart the stopped service" \
    unit_prop_is $UNIT NRestarts 1
wait_until 10 "it is active again" systemctl is-active --quiet $UNIT
newpid=$(unit_prop $UNIT MainPID)
check "with a new main PID ($pid -> $newpid)" test "$newpid" != "$pid" -a "$newpid" != 0
wait_journal 10 "systemd logged the watchdog timeout" "Watchdog timeout" -u $UNIT
check "the restart was recorded by the daemon" grep -qx "started $newpid" /var/lib/bulwark-smoke/starts

check "dpkg --purge bulwark-smoke" dpkg --purge bulwark-smoke
check_fails "dpkg no longer knows the package" dpkg-query -W bulwark-smoke
check_eq "systemctl no longer knows $UNIT" not-found "$(unit_prop $UNIT LoadState)"
check_eq "and it is not running" inactive "$(systemctl is-active $UNIT)"
check_fails "no unit file left" systemctl cat $UNIT
check "no enablement link left" test ! -e /etc/systemd/system/multi-user.target.wants/$UNIT
check "its state directory is gone" test ! -e /var/lib/bulwark-smoke
check_fails "its process is gone" pgrep -f /usr/libexec/bulwark-smoke/daemon

done_testing
