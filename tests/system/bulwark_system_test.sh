#!/bin/bash
# system tier: the .deb on a booted systemd, as a user meets it.
#   1 install -> active, `bulwarkctl status` says lsm
#   2 a violation of the shipped example policy -> journal (BULWARK_*) + audit log
#   3 edit policy, `systemctl reload` -> new rule denies, old rule holds
#   4 invalid policy -> `systemctl reload` fails, error with line:column in the
#     journal, previous rules still enforced
#   5 SIGSTOP -> the watchdog fires, systemd restarts it, enforcement returns
#   6 `systemctl stop` detaches everything; `dpkg --purge` leaves nothing
# Runs as root inside the VM; prints TAP; exits non-zero on any failure.
set -u
. /usr/libexec/bulwark-system-test/lib.sh
DEB=${1:-/opt/bulwark-test/bulwark.deb}
errno_of_cat() { cat "$1" >/dev/null 2>/tmp/cat.err; grep -q "Operation not permitted" /tmp/cat.err; }
journal_has() { journalctl -u bulwark -o json --no-pager | grep -F "$1" | grep -qF "$2"; }
main_pid() { systemctl show -p MainPID --value bulwark.service; }

echo "# preparing files the policies name"
mkdir -p /srv/data
printf 'shadow test\n' >> /etc/shadow
printf 'the data\n' > /srv/data/secret.txt

echo "# 1: install"
check "dpkg -i installs the package" sh -c "dpkg -i '$DEB' >/tmp/dpkg-i.log 2>&1"
wait_until 180 "bulwark.service becomes active" systemctl is-active --quiet bulwark.service
check "bulwark.service is enabled" systemctl is-enabled --quiet bulwark.service
status=$(bulwarkctl status 2>&1)
echo "$status" | sed 's/^/#   /'
check "bulwarkctl status shows mode lsm" grep -q '^mode: lsm$' <<<"$status"
check "bulwarkctl status shows the example policy" grep -q 'example-watch-credentials (audit' <<<"$status"
wait_until 10 "the journal says the service is ready" journal_has '"MESSAGE"' 'daemon: ready'

echo "# 2: a violation of the shipped example policy"
echo 'appended' >> /etc/shadow
wait_until 20 "audit-mode violation in journalctl -u bulwark with its fields" journal_has '"BULWARK_POLICY":"example-watch-credentials"' '"BULWARK_ACTION":"allowed-by-audit"'
check "... with the audit MESSAGE_ID" journal_has '"MESSAGE_ID":"6ce56fde6d3440c597a3b5247e34f534"' '/etc/shadow'
wait_until 10 "... and in the audit log" grep -q '"policy":"example-watch-credentials"' /var/log/bulwark/audit.jsonl

echo "# 3: edit the policy and reload"
cat > /etc/bulwark/policies.d/data.yaml <<'YAML'
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: protect-data
spec:
  protectedFiles:
    - path: /srv/data/secret.txt
      deny: all
YAML
gen_before=$(bulwarkctl status --json | sed -n 's/^  "generation": \([0-9]*\),*/\1/p')
check "systemctl reload bulwark succeeds" systemctl reload bulwark.service
check "the new file is denied (EPERM)" errno_of_cat /srv/data/secret.txt
wait_until 20 "the denial is in the journal" journal_has '"BULWARK_POLICY":"protect-data"' '"BULWARK_ACTION":"denied"'
before=$(grep -c example-watch-credentials /var/log/bulwark/audit.jsonl)
echo 'again' >> /etc/shadow
wait_until 20 "the old rule still holds" sh -c "[ \$(grep -c example-watch-credentials /var/log/bulwark/audit.jsonl) -gt $before ]"
gen_after=$(bulwarkctl status --json | sed -n 's/^  "generation": \([0-9]*\),*/\1/p')
check "the policy generation advanced ($gen_before -> $gen_after)" test "$gen_after" -gt "$gen_before"

echo "# 4: an invalid policy is refused"
cat > /etc/bulwark/policies.d/broken.yaml <<'YAML'
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: broken
spec:
  protectedFiles:
    - path: /srv/data/other
      deny: sometimes
YAML
check_fails "systemctl reload fails on an invalid policy" systemctl reload bulwark.service
wait_until 10 "the journal shows the error with line and column" sh -c "journalctl -u bulwark --no-pager | grep -q 'broken.yaml:8:13: error'"
check "the previous rules are still enforced" errno_of_cat /srv/data/secret.txt
check "bulwarkctl status reports the refused reload" sh -c "bulwarkctl status | grep -q 'last reload: REFUSED'"
check "the service is still active" systemctl is-active --quiet bulwark.service
rm -f /etc/bulwark/policies.d/broken.yaml

echo "# 5: a wedged daemon is restarted by the watchdog"
old_pid=$(main_pid)
kill -STOP "$old_pid"
new_pid_running() { p=$(main_pid); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$old_pid" ] && systemctl is-active --quiet bulwark.service; }
wait_until 120 "systemd restarted bulwarkd after the watchdog fired" new_pid_running
check "the journal records the watchdog timeout" sh -c "journalctl -u bulwark --no-pager | grep -qi watchdog"
check "enforcement is back after the restart" errno_of_cat /srv/data/secret.txt

echo "# 6: stop and purge"
check "systemctl stop bulwark" systemctl stop bulwark.service
check "after stop, the file opens again (programs detached)" cat /srv/data/secret.txt
check "dpkg --purge removes the package" sh -c "dpkg --purge bulwark >/tmp/dpkg-purge.log 2>&1"
check "no configuration left" test ! -e /etc/bulwark
check "no audit log left" test ! -e /var/log/bulwark
check "no unit left" sh -c "! systemctl cat bulwark.service >/dev/null 2>&1"
check "no binaries left" sh -c "! command -v bulwarkd && ! command -v bulwarkctl"

if [ "$_t_failed" -gt 0 ]; then
    echo "# journal of bulwark.service:"
    journalctl -u bulwark --no-pager | tail -60 | sed 's/^/#   /'
fi
done_testing
