#!/bin/sh
# Runs inside the VM: asserts that each LSM named on the command line is
# active, i.e. listed in /sys/kernel/security/lsm. On failure it exits 1 and
# prints the list the kernel reports.
set -eu
[ $# -gt 0 ] || { echo "usage: $0 LSM..." >&2; exit 2; }

lsm_file=/sys/kernel/security/lsm
[ -r "$lsm_file" ] || { echo "FAIL: $lsm_file is not readable (securityfs not mounted?)"; exit 1; }
active=$(cat "$lsm_file")
echo "active LSMs: $active"

status=0
for want in "$@"; do
    # The file is one comma-separated line: compare whole names.
    if echo "$active" | tr ',' '\n' | grep -qx "$want"; then
        echo "ok: '$want' is active"
    else
        echo "FAIL: '$want' is not in $lsm_file ($active)"
        status=1
    fi
done
exit "$status"
