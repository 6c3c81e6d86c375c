#!/bin/bash
# system tier: the .deb on a booted systemd, as a user meets it.
#   1 install -> active, `bulwarkctl status` says lsm
#   2 a violation of the shipped example policy -> journal (BULWARK_*) + audit log
#   3 edit policy, `systemctl reload` -> new rule denies, old rule holds
#   3b a unit-scoped policy loaded while the unit is stopped holds at its
#     start and at each restart, with no reload; another unit is outside
#   3c dpkg upgrades an allowlisted program: it runs with no reload; a root
#     shell's in-place rewrite of it does not run; a reinstall runs again
#   4 invalid policy -> `systemctl reload` fails, error with line:column in the
#     journal, previous rules still enforced
#   4b a policy that would lock the host out (allowlist without PID 1's
#     binary, deny-write on /etc/passwd) -> check and reload refuse it
#   4c `bulwarkctl apply --confirm-within`: unconfirmed, the previous policy
#     comes back; confirmed, the new one stays
#   5 a root shell's `kill -STOP` / `kill -9` are refused (self-protection:
#     journal entry); SIGSTOP through `systemctl kill` -> the watchdog
#     fires, systemd restarts it; enforcement never stopped (pinned)
#   6 `systemctl restart`, SIGKILL through `systemctl kill` (a crash: systemd
#     restarts it) and `dpkg -i` of the
#     same package again (the upgrade path) while a loop writes a deny-write
#     file: no write gets through, the journal says enforcement stayed pinned
#   7 `systemctl stop` detaches and unpins; `dpkg --purge` leaves nothing
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
systemctl is-active --quiet bulwark.service || journalctl -u bulwark --no-pager -n 40 | sed 's/^/#   /'
check "bulwark.service is enabled" systemctl is-enabled --quiet bulwark.service
status=$(bulwarkctl status 2>&1)
echo "$status" | sed 's/^/#   /'
check "bulwarkctl status shows mode lsm" grep -q '^mode: lsm$' <<<"$status"
check "bulwarkctl status shows the example policy" grep -q 'example-watch-credentials (audit' <<<"$status"
check_fails "bulwarkctl status: nothing was found tampered with at start-up" grep -q 'TAMPERED' <<<"$status"
wait_until 10 "the journal says the service is ready" journal_has '"MESSAGE"' 'daemon: ready'
mount_opts() { awk -v m="$2" '$5 == m { o = $6 } END { print o }' "/proc/$1/mountinfo"; }
pid=$(main_pid)
check_match "bulwarkd sees /sys read-only (ProtectKernelTunables= spelled out)" '^ro' "$(mount_opts "$pid" /sys)"
check_match "bulwarkd sees /proc/sys read-only" '^ro' "$(mount_opts "$pid" /proc/sys)"
check_match "... and the bpf filesystem writable, for its pins" '^rw' "$(mount_opts "$pid" /sys/fs/bpf)"

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

echo "# 3b: a unit scope follows its unit: stopped at load, then started and restarted"
printf 'for the unit only\n' > /srv/data/unit-secret.txt
for unit in bwscope bwother; do
    cat > /etc/systemd/system/$unit.service <<'UNIT'
[Unit]
Description=bulwark test: reads a file a unit scope protects
[Service]
Type=oneshot
ExecStart=/bin/cat /srv/data/unit-secret.txt
UNIT
done
systemctl daemon-reload
cat > /etc/bulwark/policies.d/unit.yaml <<'YAML'
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: unit-scope
spec:
  scope:
    units: [bwscope.service]
  protectedFiles:
    - path: /srv/data/unit-secret.txt
YAML
check "systemctl reload bulwark with the unit stopped succeeds" systemctl reload bulwark.service
check_eq "outside the unit the file reads (control)" "for the unit only" "$(cat /srv/data/unit-secret.txt)"
check "another unit reads it too (control: only bwscope.service is in scope)" systemctl start bwother.service
check "... its log has the file's content" sh -c "journalctl -u bwother.service --no-pager | grep -q 'for the unit only'"
denials() { journalctl -u bulwark -o json --no-pager | grep -F '"BULWARK_POLICY":"unit-scope"' | grep -cF '"BULWARK_ACTION":"denied"'; }
denials_at_least() { [ "$(denials)" -ge "$1" ]; }
generation() { bulwarkctl status --json | sed -n 's/^  "generation": \([0-9]*\),*/\1/p'; }
gen_before=$(generation)
for start in 1 2 3; do
    check_fails "start $start of bwscope.service: its first read is refused, no reload in between" \
        systemctl start bwscope.service
    wait_until 20 "... denial $start in the journal" denials_at_least "$start"
done
check "the unit's own log says why" sh -c "journalctl -u bwscope.service --no-pager | grep -q 'Operation not permitted'"
check_eq "no reload meanwhile: the generation is the same" "$gen_before" "$(generation)"

echo "# 3c: trust follows content: dpkg upgrades an allowlisted program, no reload; an in-place rewrite is refused"
build_bwprog() {  # VERSION: a tiny package shipping /usr/local/bin/bwprog
    local d=/tmp/bwprog-$1
    mkdir -p "$d/DEBIAN" "$d/usr/local/bin"
    printf 'Package: bwprog\nVersion: %s\nArchitecture: all\nMaintainer: bulwark tests <tests@localhost>\nDescription: bulwark test: an allowlisted program\n' "$1" >"$d/DEBIAN/control"
    printf '#!/bin/sh\necho "bwprog version %s"\n' "$1" >"$d/usr/local/bin/bwprog"
    chmod 0755 "$d/usr/local/bin/bwprog"
    dpkg-deb --root-owner-group --build "$d" "/tmp/bwprog_$1.deb" >/dev/null
}
build_bwprog 1
build_bwprog 2
check "dpkg -i installs bwprog 1" sh -c "dpkg -i /tmp/bwprog_1.deb >/tmp/bwprog.log 2>&1"
cat > /etc/systemd/system/bwexec.service <<'UNIT'
[Unit]
Description=bulwark test: runs an allowlisted program
[Service]
Type=oneshot
ExecStart=/usr/local/bin/bwprog
UNIT
systemctl daemon-reload
cat > /etc/bulwark/policies.d/exec.yaml <<'YAML'
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: exec-bwprog
spec:
  scope:
    units: [bwexec.service]
  execAllowlist:
    - /usr/local/bin/bwprog
    - /usr/bin/
    - /usr/lib/
    - /usr/lib64/
YAML
check "systemctl reload bulwark with the allowlist succeeds" systemctl reload bulwark.service
ran() { journalctl -u bwexec.service --no-pager | grep -c "bwprog version $1"; }
why_not() { journalctl -u bulwark -o cat --no-pager | grep -F exec-bwprog | tail -n 3 | sed 's/^/#   /'; }
gen_before=$(generation)
check "bwexec.service runs bwprog 1 (allowlisted)" systemctl start bwexec.service || why_not
check_eq "... its output is version 1's" 1 "$(ran 1)"
check "dpkg -i upgrades bwprog to 2, no reload" sh -c "dpkg -i /tmp/bwprog_2.deb >>/tmp/bwprog.log 2>&1"
check "bwexec.service runs the upgraded bwprog" systemctl start bwexec.service || why_not
check_eq "... its output is version 2's" 1 "$(ran 2)"
check_eq "no reload meanwhile: the generation is the same" "$gen_before" "$(generation)"
ino_before=$(stat -c %i /usr/local/bin/bwprog)
sh -c 'printf "#!/bin/sh\necho bwprog version evil\n" > /usr/local/bin/bwprog'
check_eq "a root shell rewrote it in place (same inode)" "$ino_before" "$(stat -c %i /usr/local/bin/bwprog)"
check_fails "bwexec.service can no longer run it" systemctl start bwexec.service
check_eq "... the rewritten bytes never ran" 0 "$(ran evil)"
content_denial() { journalctl -u bulwark -o json --no-pager | grep -F '"BULWARK_POLICY":"exec-bwprog"' | grep -qF '"BULWARK_ACTION":"denied"'; }
wait_until 20 "... the exec denial is in the journal" content_denial
wait_until 10 "... and in the audit log, content_changed" sh -c "grep '\"policy\":\"exec-bwprog\"' /var/log/bulwark/audit.jsonl | grep -q '\"content_changed\":true'"
check "dpkg -i reinstalls bwprog 2" sh -c "dpkg -i /tmp/bwprog_2.deb >>/tmp/bwprog.log 2>&1"
check "bwexec.service runs the reinstalled bwprog" systemctl start bwexec.service || why_not
check_eq "... version 2's output again" 2 "$(ran 2)"
check_eq "still no reload" "$gen_before" "$(generation)"
dpkg --purge bwprog >>/tmp/bwprog.log 2>&1
rm -f /etc/bulwark/policies.d/exec.yaml /etc/systemd/system/bwexec.service
systemctl daemon-reload
check "systemctl reload bulwark without the allowlist succeeds" systemctl reload bulwark.service

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

echo "# 4b: the lockout guard refuses a policy that would make the host unusable"
cat > /etc/bulwark/policies.d/lockout.yaml <<'YAML'
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: lockout
spec:
  execAllowlist:
    - /usr/bin/python3
  protectedFiles:
    - path: /etc/passwd
      deny: write
YAML
check_fails "bulwarkctl check refuses it" bulwarkctl check /etc/bulwark/policies.d/lockout.yaml
bulwarkctl check /etc/bulwark/policies.d/lockout.yaml 2>&1 | sed 's/^/#   /' | cut -c1-240
check "... saying PID 1's binary would be refused, and how to fix it" sh -c \
    "bulwarkctl check /etc/bulwark/policies.d/lockout.yaml 2>&1 | grep 'lockout.yaml:7:7: error: host-wide enforcing execAllowlist' | grep \"PID 1's binary (\" | grep -q 'allowLockout: true'"
check "... and deny: write on /etc/passwd" sh -c \
    "bulwarkctl check /etc/bulwark/policies.d/lockout.yaml 2>&1 | grep -q 'lockout.yaml:9:13: error: protectedFiles(write) on \"/etc/passwd\"'"
check_fails "systemctl reload refuses it" systemctl reload bulwark.service
check "the previous rules are still enforced" errno_of_cat /srv/data/secret.txt
check "and programs still run" /bin/true
rm -f /etc/bulwark/policies.d/lockout.yaml
check "reload works again without it" systemctl reload bulwark.service

echo "# 4c: a policy applied on trial goes back unless confirmed"
printf 'on trial\n' > /srv/data/trial.txt
check_eq "control: the file reads before the trial" "on trial" "$(cat /srv/data/trial.txt)"
cat > /etc/bulwark/policies.d/trial.yaml <<'YAML'
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: trial
spec:
  protectedFiles:
    - path: /srv/data/trial.txt
YAML
check "bulwarkctl apply --confirm-within 5s" sh -c "bulwarkctl apply --confirm-within 5s | grep -q 'on trial: unless'"
check "the trial's rule is enforced" errno_of_cat /srv/data/trial.txt
check "bulwarkctl status shows the trial" sh -c "bulwarkctl status | grep -q '^trial: generation'"
wait_until 30 "unconfirmed, the previous policy is back: the file reads" sh -c "cat /srv/data/trial.txt >/dev/null 2>&1"
wait_until 10 "the journal says the trial was not confirmed" sh -c \
    "journalctl -u bulwark --no-pager | grep -q 'was not confirmed within 5 s: the policy of generation'"
check "the earlier rules are still enforced" errno_of_cat /srv/data/secret.txt
check "apply again and confirm" sh -c "bulwarkctl apply --confirm-within 5s >/dev/null && bulwarkctl confirm | grep -q '^confirmed: generation'"
check "the journal says it was confirmed" sh -c "journalctl -u bulwark --no-pager | grep -q 'trial confirmed: generation'"
check "bulwarkctl status shows no trial" sh -c "! bulwarkctl status | grep -q '^trial:'"
check "the confirmed rule is enforced" errno_of_cat /srv/data/trial.txt
rm -f /etc/bulwark/policies.d/trial.yaml
check "reload without it" systemctl reload bulwark.service

echo "# 5: a wedged daemon is restarted by the watchdog"
old_pid=$(main_pid)
check_fails "a root shell's kill -STOP of bulwarkd is refused" kill -STOP "$old_pid"
check_fails "... and its kill -9" kill -9 "$old_pid"
check "bulwarkd still runs" kill -0 "$old_pid"
wait_until 10 "the journal has the refused signals (self-protection)" \
    journal_has '"MESSAGE_ID":"76ae68bb95de4ab89beea0d4dd973bdd"' '"BULWARK_SIGNAL":"9"'
check "systemctl kill --signal=SIGSTOP (PID 1 sends it)" \
    systemctl kill --kill-whom=main --signal=SIGSTOP bulwark.service
new_pid_running() { p=$(main_pid); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$old_pid" ] && systemctl is-active --quiet bulwark.service; }
wait_until 120 "systemd restarted bulwarkd after the watchdog fired" new_pid_running
check "the journal records the watchdog timeout" sh -c "journalctl -u bulwark --no-pager | grep -qi watchdog"
check "enforcement holds after the restart" errno_of_cat /srv/data/secret.txt

echo "# 5b: bulwark's own files: root is refused, dpkg (section 6) is not"
unit_file=$(systemctl show -p FragmentPath --value bulwark.service)
bin_sum=$(sha256sum /usr/sbin/bulwarkd /usr/bin/bulwarkctl "$unit_file")
refused() { "$@" 2>&1 | grep -q 'Operation not permitted'; }
check "touch -c /usr/sbin/bulwarkd (its times) is refused" refused touch -c /usr/sbin/bulwarkd
check "rm -f /usr/bin/bulwarkctl is refused" refused rm -f /usr/bin/bulwarkctl
check "appending to the unit file is refused" refused sh -c "echo '# x' >> '$unit_file'"
check "mv of the unit file is refused" refused mv "$unit_file" /root/bulwark.service
check_eq "the binaries and the unit are unchanged" "$bin_sum" "$(sha256sum /usr/sbin/bulwarkd /usr/bin/bulwarkctl "$unit_file")"
check "a copy of bulwarkctl can be changed (control)" sh -c "cp /usr/bin/bulwarkctl /root/ctl-copy && touch /root/ctl-copy && rm /root/ctl-copy"
wait_until 10 "the journal has the refusals" journal_has '"MESSAGE_ID":"76ae68bb95de4ab89beea0d4dd973bdd"' '"BULWARK_OP":"self-file"'

echo "# 6: restart, kill -9 and upgrade while writes hit a deny-write file"
printf 'keep these bytes\n' > /srv/data/dw.txt
printf '' > /srv/data/free.txt
cat > /etc/bulwark/policies.d/dw.yaml <<'YAML'
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: protect-dw
spec:
  protectedFiles:
    - path: /srv/data/dw.txt
      deny: write
YAML
check "systemctl reload takes the deny-write rule" systemctl reload bulwark.service
check "the pins are in bpffs" test -e /sys/fs/bpf/bulwark/links/bw_lsm_file_open
dw_sum=$(sha256sum /srv/data/dw.txt)
rm -f /tmp/writes-through /tmp/writer.stop
# The writer: appends to the protected file (each success is logged) and, as
# the control, to an unprotected one.
( while [ ! -e /tmp/writer.stop ]; do
      if echo x 2>/dev/null >> /srv/data/dw.txt; then echo through >> /tmp/writes-through; fi
      echo x >> /srv/data/free.txt
      sleep 0.01
  done ) &
writer=$!
free_lines() { wc -l < /srv/data/free.txt; }
writer_ran() { n=$(free_lines); [ "$n" -gt "$1" ]; }
wait_until 30 "the writer runs" writer_ran 5
old_pid=$(main_pid)
check "systemctl restart bulwark" systemctl restart bulwark.service
wait_until 60 "a new bulwarkd runs after the restart" new_pid_running
wait_until 20 "the journal says the restart kept enforcement pinned" journal_has '"BULWARK_ENFORCEMENT":"pinned"' 'stays in force'
n=$(free_lines); wait_until 30 "the writer runs on" writer_ran "$n"
old_pid=$(main_pid)
check "systemctl kill --signal=SIGKILL (a crash)" systemctl kill --kill-whom=main --signal=SIGKILL bulwark.service
wait_until 120 "systemd restarted bulwarkd after SIGKILL" new_pid_running
n=$(free_lines); wait_until 30 "the writer runs on" writer_ran "$n"
check "dpkg -i of the same package again (upgrade path)" sh -c "dpkg -i '$DEB' >/tmp/dpkg-i2.log 2>&1"
wait_until 120 "bulwark.service is active after the upgrade" systemctl is-active --quiet bulwark.service
n=$(free_lines); wait_until 30 "the writer runs on" writer_ran "$n"
touch /tmp/writer.stop
wait "$writer"
check "no write got through at any moment" test ! -e /tmp/writes-through
check_eq "the deny-write file's bytes are unchanged" "$dw_sum" "$(sha256sum /srv/data/dw.txt)"
check "the adopting bulwarkd says it took over" sh -c "journalctl -u bulwark --no-pager | grep -q 'adopting the enforcement a previous bulwarkd left'"
status=$(bulwarkctl status 2>&1)
check "bulwarkctl status shows persistence" grep -q '^persistence: pinned in /sys/fs/bpf/bulwark' <<<"$status"

echo "# 7: stop and purge"
check "systemctl stop bulwark" systemctl stop bulwark.service
check "after stop, the file opens again (programs detached)" cat /srv/data/secret.txt
check "after stop, nothing is pinned" test ! -e /sys/fs/bpf/bulwark
check "the journal says stop detached enforcement" journal_has '"BULWARK_ENFORCEMENT":"detached"' 'detached and unpinned'
check "writes to the deny-write file work again" sh -c "echo y >> /srv/data/dw.txt"
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
