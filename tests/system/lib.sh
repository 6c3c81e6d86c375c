# shellcheck shell=bash
# Helpers for system-tier test scripts, in the VM at
# /usr/libexec/bulwark-system-test/lib.sh (tests/system/mkrootfs.sh puts it
# there). Source it from a bash test script:
#
#   #!/bin/bash
#   . /usr/libexec/bulwark-system-test/lib.sh
#   check "journald runs" systemctl is-active --quiet systemd-journald
#   check_eq "PID 1" systemd "$(cat /proc/1/comm)"
#   wait_until 10 "service is active" systemctl is-active --quiet foo.service
#   done_testing            # prints the plan, exits 1 if anything failed
#
# Output is TAP: "ok N - what" / "not ok N - what", diagnostics on lines
# starting with "# ", and "1..N" at the end. Every check runs even after a
# failure; done_testing decides the exit status. Use bail "why" when going
# on makes no sense (it exits at once, status 1).

_t_count=0
_t_failed=0

# pass DESC / fail DESC [DIAGNOSTIC...]
pass() {
    _t_count=$((_t_count + 1))
    echo "ok $_t_count - $1"
}
fail() {
    _t_count=$((_t_count + 1))
    _t_failed=$((_t_failed + 1))
    echo "not ok $_t_count - $1"
    shift
    local line
    for line in "$@"; do
        printf '%s\n' "$line" | sed 's/^/#   /'
    done
}

# check DESC CMD [ARGS...]: passes when CMD exits 0; on failure shows its
# exit status and output.
check() {
    local desc=$1 out rc=0
    shift
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "$desc"
    else
        fail "$desc" "command: $*" "exit status: $rc" "${out:-(no output)}"
    fi
    return "$rc"
}

# check_fails DESC CMD [ARGS...]: passes when CMD exits non-zero.
check_fails() {
    local desc=$1 out rc=0
    shift
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
        pass "$desc"
        return 0
    fi
    fail "$desc" "command: $*" "expected a failure, it exited 0" "${out:-(no output)}"
    return 1
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then
        pass "$1"
        return 0
    fi
    fail "$1" "expected: '$2'" "actual:   '$3'"
    return 1
}

# check_match DESC EXTENDED_REGEX TEXT: TEXT has a line matching the regex.
check_match() {
    if printf '%s\n' "$3" | grep -Eq -- "$2"; then
        pass "$1"
        return 0
    fi
    fail "$1" "no line matches: $2" "in:" "${3:-(empty)}"
    return 1
}

# wait_until SECONDS DESC CMD [ARGS...]: polls CMD (every 0.2 s) until it
# exits 0; a check that fails if it never does within SECONDS. CMD is run
# as given each time: put a changing value in a function (see
# unit_prop_is), not in a "$(...)" argument, which is expanded only once.
wait_until() {
    local secs=$1 desc=$2 out rc deadline
    shift 2
    deadline=$(($(date +%s%N) + secs * 1000000000))
    while :; do
        rc=0
        out=$("$@" 2>&1) || rc=$?
        [ "$rc" -ne 0 ] || { pass "$desc"; return 0; }
        [ "$(date +%s%N)" -lt "$deadline" ] || break
        sleep 0.2
    done
    fail "$desc" "command: $*" "still exit status $rc after $secs s" "${out:-(no output)}"
    return 1
}

# journal_json [JOURNALCTL ARGS...]: this boot's matching entries, one JSON
# object per line (journalctl -o json), e.g. journal_json -t bulwarkd
# or journal_json MESSAGE_ID=0123...
journal_json() {
    journalctl -b --no-pager -o json "$@"
}

# json_field FIELD: from JSON lines on stdin, the string value of FIELD,
# one per line (plain "FIELD":"value" pairs; values with escaped quotes are
# not unescaped). journalctl prints binary or very long values as arrays or
# null: those are not matched.
json_field() {
    grep -o "\"$1\":\"\\([^\"\\\\]\\|\\\\.\\)*\"" | sed "s/^\"$1\":\"//; s/\"\$//"
}

# wait_journal SECONDS DESC GREP_PATTERN [JOURNALCTL ARGS...]: waits until
# an entry of `journalctl -o json ARGS` matches the fixed string
# GREP_PATTERN (e.g. '"BULWARK_PATH":"/tmp/secret"'). journald writes
# asynchronously: never check the journal right after an event without
# waiting like this.
wait_journal() {
    local secs=$1 desc=$2 pattern=$3
    shift 3
    if wait_until "$secs" "$desc" _journal_has "$pattern" "$@"; then
        return 0
    fi
    echo "#   journalctl -b -o json $*, last 5 entries:"
    journal_json "$@" -n 5 2>&1 | sed 's/^/#     /'
    return 1
}
_journal_has() {
    local pattern=$1
    shift
    journal_json "$@" | grep -qF -- "$pattern"
}

# unit_prop UNIT PROPERTY: one property's value (systemctl show --value).
unit_prop() {
    systemctl show -p "$2" --value -- "$1"
}

# unit_prop_is UNIT PROPERTY VALUE: exit 0 when the property has VALUE,
# else print it and exit 1. For wait_until, which runs its command again on
# each try (a "$(...)" in its arguments is expanded only once, before the
# first):  wait_until 20 "restarted" unit_prop_is foo.service NRestarts 1
unit_prop_is() {
    local v
    v=$(unit_prop "$1" "$2")
    [ "$v" = "$3" ] && return 0
    echo "$1 $2=$v (want $3)"
    return 1
}

# bail WHY: stop the test now (status 1).
bail() {
    echo "Bail out! $*"
    exit 1
}

# done_testing: the plan line; exit status 0 only when every check passed
# and there was at least one.
done_testing() {
    echo "1..$_t_count"
    if [ "$_t_count" -eq 0 ]; then
        echo "# no checks ran"
        exit 1
    fi
    if [ "$_t_failed" -ne 0 ]; then
        echo "# $_t_failed of $_t_count checks failed"
        exit 1
    fi
    echo "# all $_t_count checks passed"
    exit 0
}
