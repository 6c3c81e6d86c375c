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
    "$dir/good.yaml:8:13: warning: path \"$dir/missing\" does not exist yet; the rule is bound to the path: a file created, renamed or linked there takes it from its first open" \
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

# --json: one JSON document on stdout, valid or not; diagnostics on stderr too.
json_field() { # json_field FILE PYTHON-EXPRESSION-ON-j (a tuple prints space-separated)
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(*v) if isinstance(v, tuple) else print(v)' "$1" "$2" 2>&1
}
"$ctl" check --json "$dir/good.yaml" >"$dir/out" 2>"$dir/err"
expect "--json valid: exit status" 0 $?
expect "--json valid: top-level keys" \
    "['version', 'valid', 'errors', 'warnings', 'policies', 'rules', 'files', 'paths', 'scopes', 'allowlists', 'allowlist_overlaps', 'diagnostics']" \
    "$(json_field "$dir/out" 'list(j)')"
expect "--json valid: valid" "True 0 1" "$(json_field "$dir/out" 'j["valid"], j["errors"], j["warnings"]')"
expect "--json valid: rules" "killOnOpen enforced bound_to_path" \
    "$(json_field "$dir/out" '" ".join([j["rules"][0]["kind"], j["rules"][0]["status"], j["rules"][1]["status"]])')"
expect "--json valid: file entry" "$dir/secret False 0" \
    "$(json_field "$dir/out" 'j["files"][0]["path"], j["files"][0]["directory"], j["files"][0]["rule"]')"
expect "--json valid: diagnostic" "warning 8 13" \
    "$(json_field "$dir/out" 'j["diagnostics"][0]["severity"], j["diagnostics"][0]["line"], j["diagnostics"][0]["column"]')"
expect "--json valid: warning on stderr too" 1 "$(grep -c 'warning:' "$dir/err")"

"$ctl" check --json "$dir/good.yaml" "$dir/bad.yaml" >"$dir/out" 2>"$dir/err"
expect "--json invalid: exit status" 1 $?
expect "--json invalid: valid" "False 1" "$(json_field "$dir/out" 'j["valid"], j["errors"]')"
expect "--json invalid: error" "path \"etc/shadow\" is not absolute" \
    "$(json_field "$dir/out" '[d["message"] for d in j["diagnostics"] if d["severity"] == "error"][0]')"
expect "--json invalid: last line" "bulwarkctl: check failed: 1 error, 1 warning" "$(tail -n 1 "$dir/err")"

"$ctl" check --json --config "$dir/none.yaml" >"$dir/out" 2>/dev/null
expect "--json, no path, no settings file: exit status" 1 $?
expect "--json, no path, no settings file: invalid" False "$(json_field "$dir/out" 'j["valid"]')"

# Directory rules and precedence in the human summary.
mkdir -p "$dir/vault/sub" "$dir/bin"
echo v > "$dir/vault/sub/v"
cat > "$dir/dirs.yaml" <<YAML
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: dirs
spec:
  protectedFiles:
    - path: $dir/vault/
      recursive: true
    - path: $dir/vault/sub/v
      deny: write
  execAllowlist:
    - $dir/bin/
YAML
# The lockout guard: a host-wide enforcing allowlist of one directory
# refuses what this host runs on -- unless the policy says it means it.
"$ctl" check "$dir/dirs.yaml" >"$dir/out" 2>"$dir/err"
expect "lockout: exit status" 1 $?
expect "lockout: the error says what and how" 1 \
    "$(grep -c "^$dir/dirs.yaml:12:7: error: host-wide enforcing execAllowlist of policy \"dirs\" would refuse what this host needs to run: .*set \`allowLockout: true\` in its spec$" "$dir/err")"
sed -i 's/^  protectedFiles:$/  allowLockout: true\n  protectedFiles:/' "$dir/dirs.yaml"
"$ctl" check "$dir/dirs.yaml" >"$dir/out" 2>"$dir/err"
expect "directory rule: exit status" 0 $?
expect "lockout allowed: a warning" 1 "$(grep -c '(allowed: the policy says allowLockout: true)$' "$dir/err")"
expect "directory rule: in force" "  $dir/vault/ and everything below it: every open denied (enforce, whole host; rule 0, policy dirs)" \
    "$(grep "^  $dir/vault/ and" "$dir/out")"
expect "directory rule: allowlist entry" "    $dir/bin/ and everything below it" \
    "$(grep -o "^    $dir/bin/ and everything below it" "$dir/out")"
expect "directory rule: outranked file rule warned" 1 "$(grep -c 'is shadowed at run time by the stronger directory rule' "$dir/err")"

# Every error of a run at once: the parser's and the compiler's.
cat > "$dir/errors.yaml" <<YAML
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: parse-errors
spec:
  mode: enforcing
  killOnOpen:
    - path: relative
---
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: compile-errors
spec:
  mode: audit
  protectedFiles:
    - path: $dir/vault
  execAllowlist:
    - $dir/bin
YAML
"$ctl" check "$dir/errors.yaml" >"$dir/out" 2>"$dir/err"
expect "all errors: exit status" 1 $?
expect "all errors: messages" "$dir/errors.yaml:6:9: error: invalid value \"enforcing\" for mode; expected one of: enforce, audit
$dir/errors.yaml:8:13: error: path \"relative\" is not absolute
$dir/errors.yaml:17:13: error: \"$dir/vault\" is a directory; add recursive: true to cover everything below it
$dir/errors.yaml:19:7: error: \"$dir/bin\" is a directory; write it as \"$dir/bin/\" to allow everything below it
bulwarkctl: check failed: 4 errors, 0 warnings" "$(cat "$dir/err")"

"$ctl" >/dev/null 2>&1
expect "no subcommand: exit status" 2 $?
# Standard input.
"$ctl" check - <"$dir/good.yaml" >"$dir/out" 2>"$dir/err"
expect "stdin: exit status" 0 $?
expect "stdin: named <stdin> in messages" 1 "$(grep -c '^<stdin>:8:13: warning: path ' "$dir/err")"
expect "stdin: summary" "policy good (enforce) from <stdin>" "$(head -n 1 "$dir/out")"

# No path: the settings file and the policy directory it names (relative to
# the settings file), as bulwarkd would load them.
mkdir -m 0755 "$dir/conf" "$dir/conf/policies"
cp "$dir/good.yaml" "$dir/conf/policies/good.yaml"
printf 'policyDir: policies\nauditLog: audit.jsonl\n' > "$dir/conf/bulwark.yaml"
"$ctl" check --config "$dir/conf/bulwark.yaml" >"$dir/out" 2>"$dir/err"
expect "configured: exit status" 0 $?
expect "configured: says what it checks" "checking $dir/conf/bulwark.yaml and its policy directory $dir/conf/policies" \
    "$(head -n 1 "$dir/err")"
expect "configured: summary" "policy good (enforce) from $dir/conf/policies/good.yaml" "$(head -n 1 "$dir/out")"
# ... with the errors of every phase in one run: the settings' and the policies'.
printf 'policyDir: policies\njournal: yes\n' > "$dir/conf/bulwark.yaml"
cp "$dir/bad.yaml" "$dir/conf/policies/bad.yaml"
"$ctl" check --config "$dir/conf/bulwark.yaml" >"$dir/out" 2>"$dir/err"
expect "configured, invalid: exit status" 1 $?
expect "configured, invalid: the settings error" 1 "$(grep -c "^$dir/conf/bulwark.yaml:2:10: error: " "$dir/err")"
expect "configured, invalid: the policy error" 1 "$(grep -c "^$dir/conf/policies/bad.yaml:7:13: error: path \"etc/shadow\" is not absolute" "$dir/err")"
# ... and bulwarkd's trust rules: a policy file others can write is refused.
rm "$dir/conf/policies/bad.yaml"
printf 'policyDir: policies\n' > "$dir/conf/bulwark.yaml"
chmod 0666 "$dir/conf/policies/good.yaml"
"$ctl" check --config "$dir/conf/bulwark.yaml" >"$dir/out" 2>"$dir/err"
expect "configured, untrusted: exit status" 1 $?
expect "configured, untrusted: refused" 1 "$(grep -c "^$dir/conf/policies/good.yaml: error: refused: it is writable by group or others" "$dir/err")"
"$ctl" check "$dir/conf/policies/good.yaml" >/dev/null 2>&1
expect "a path given: checked without the trust rules (a draft)" 0 $?
"$ctl" check --config "$dir/none.yaml" >/dev/null 2>&1
expect "configured, no settings file: exit status" 1 $?
"$ctl" check --frobnicate "$dir/good.yaml" >/dev/null 2>&1
expect "unknown option: exit status" 2 $?
"$ctl" --help >/dev/null 2>&1
expect "--help: exit status" 0 $?

exit $fail
