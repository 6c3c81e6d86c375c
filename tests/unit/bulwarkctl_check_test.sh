#!/bin/sh
# bulwarkctl check: exit codes and output streams, run against the real binary.
# Usage: bulwarkctl_check_test.sh PATH/TO/bulwarkctl
set -u
ctl="$1"
dir=$(mktemp -d "${TMPDIR:-/tmp}/bulwarkctl-test-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail=0
expect() { # expect NAME WANT GOT
    if [ "$2" != "$3" ]; then
        printf 'FAIL %s\n  want: %s\n  got:  %s\n' "$1" "$2" "$3" >&2
        fail=1
    fi
}

echo secret > "$dir/secret"
cat > "$dir/good.yaml" <<YAML
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: good
spec:
  killOnOpen:
    - path: $dir/secret
    - path: $dir/missing
YAML
cat > "$dir/bad.yaml" <<YAML
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: bad
spec:
  protectedFiles:
    - path: etc/shadow
YAML

"$ctl" check "$dir/good.yaml" >"$dir/out" 2>"$dir/err"
expect "valid: exit status" 0 $?
expect "valid: warning on stderr" \
    "$dir/good.yaml:8:13: warning: path \"$dir/missing\" does not exist; rule not enforced until it does (re-resolved at reload)" \
    "$(cat "$dir/err")"
expect "valid: summary on stdout" "policy good (enforce) from $dir/good.yaml" "$(head -n 1 "$dir/out")"

"$ctl" check "$dir/good.yaml" "$dir/bad.yaml" >"$dir/out" 2>"$dir/err"
expect "invalid: exit status" 1 $?
expect "invalid: error on stderr" "$dir/bad.yaml:7:13: error: path \"etc/shadow\" is not absolute" \
    "$(grep 'error:' "$dir/err")"
expect "invalid: last line" "bulwarkctl: check failed: 1 error, 1 warning" "$(tail -n 1 "$dir/err")"
expect "invalid: no summary" "" "$(cat "$dir/out")"

"$ctl" check "$dir" >"$dir/out" 2>"$dir/err"
expect "directory: exit status" 1 $?

"$ctl" check "$dir/nope.yaml" >/dev/null 2>"$dir/err"
expect "missing file: exit status" 1 $?
expect "missing file: message" "$dir/nope.yaml: error: cannot access: No such file or directory" "$(head -n 1 "$dir/err")"

"$ctl" >/dev/null 2>&1
expect "no subcommand: exit status" 2 $?
"$ctl" check >/dev/null 2>&1
expect "check without files: exit status" 2 $?
"$ctl" check --frobnicate "$dir/good.yaml" >/dev/null 2>&1
expect "unknown option: exit status" 2 $?
"$ctl" --help >/dev/null 2>&1
expect "--help: exit status" 0 $?

exit $fail
