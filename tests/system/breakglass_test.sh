#!/bin/bash
# system tier: break-glass.  The VM boots with bulwark.disable=1 on the
# kernel command line, as a locked-out admin at the console would boot.
#   1 the package installs and its service is enabled, with a valid,
#     enforcing policy on a file; the service does not start (exit 6, not
#     restarted), and says why: journal (crit), systemctl, bulwarkctl status
#   2 nothing is enforced: the protected file reads, no BPF program is
#     pinned or attached
# Runs as root inside the VM; prints TAP; exits non-zero on any failure.
set -u
. /usr/libexec/bulwark-system-test/lib.sh
DEB=${1:-/opt/bulwark-test/bulwark.deb}

check "the kernel command line has bulwark.disable=1" grep -qw 'bulwark.disable=1' /proc/cmdline
mkdir -p /srv/data
printf 'the data\n' > /srv/data/secret.txt

echo "# 1: install, with an enforcing policy"
check "dpkg -i installs the package" sh -c "dpkg -i '$DEB' >/tmp/dpkg-i.log 2>&1"
cat > /etc/bulwark/policies.d/data.yaml <<'YAML'
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: data
spec:
  protectedFiles:
    - path: /srv/data/secret.txt
YAML
check "the policy is valid and would be enforced" sh -c \
    "bulwarkctl check /etc/bulwark/policies.d >/tmp/check.out 2>&1 && grep -q 'every open denied (enforce' /tmp/check.out"
check "bulwark.service is enabled" systemctl is-enabled --quiet bulwark.service
systemctl restart bulwark.service >/dev/null 2>&1
wait_until 30 "bulwark.service ends as failed" systemctl is-failed --quiet bulwark.service
check_eq "... with exit status 6 (disabled)" 6 "$(systemctl show -p ExecMainStatus --value bulwark.service)"
n_starts=$(systemctl show -p NRestarts --value bulwark.service)
check_eq "... and is not restarted" 0 "$n_starts"
wait_until 10 "the journal says why, at priority crit" sh -c \
    "journalctl -u bulwark -p crit --no-pager | grep -q 'bulwark.disable=1 is on the kernel command line (break-glass)'"
check "systemctl status shows the reason" sh -c \
    "systemctl status bulwark.service --no-pager -l 2>&1 | grep -q 'bulwark.disable=1'"
status=$(bulwarkctl status 2>&1)
rc=$?
echo "$status" | sed 's/^/#   /'
check_eq "bulwarkctl status fails" 1 "$([ "$rc" -ne 0 ] && echo 1 || echo 0)"
check "... and says break-glass is on" grep -q 'bulwark.disable=1 is on the kernel command line' <<<"$status"

echo "# 2: nothing is enforced"
check_eq "the protected file reads" "the data" "$(cat /srv/data/secret.txt)"
check "nothing is pinned" sh -c "! ls -A /sys/fs/bpf/bulwark 2>/dev/null | grep -q ."
done_testing
