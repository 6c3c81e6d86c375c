#!/bin/sh
# Builds the policy fuzzer (clang++, libFuzzer, ASan, UBSan) and runs it.
#
# Usage: tests/fuzz/run-fuzz.sh [SECONDS]     (default 90)
#
# Environment:
#   BULWARK_FUZZ_BUILD  build directory (default: <repo>/build-fuzz)
#   CXX                 the clang++ to use (default: clang++)
#
# The seed corpus (tests/fuzz/corpus) is copied into the build directory and
# the fuzzer works on the copy: nothing in the source tree is written.
# Exits non-zero when the build fails or the fuzzer finds anything (crash,
# sanitizer report, leak, timeout, out-of-memory); the reproducer is kept in
# $BULWARK_FUZZ_BUILD/artifacts/.
set -eu

seconds="${1:-90}"
case "$seconds" in
    ''|*[!0-9]*) echo "run-fuzz: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build="${BULWARK_FUZZ_BUILD:-$repo/build-fuzz}"
cxx="${CXX:-clang++}"

echo "run-fuzz: building in $build with $cxx"
mkdir -p "$build"
if ! cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" >"$build/configure.log" 2>&1; then
    cat "$build/configure.log" >&2
    echo "run-fuzz: configure failed" >&2
    exit 1
fi
if ! cmake --build "$build" -j"$(nproc)" >"$build/build.log" 2>&1; then
    cat "$build/build.log" >&2
    echo "run-fuzz: build failed" >&2
    exit 1
fi

corpus="$build/corpus"
artifacts="$build/artifacts"
rm -rf "$corpus" "$artifacts"
mkdir -p "$corpus" "$artifacts"
cp "$here"/corpus/* "$corpus/"

echo "run-fuzz: fuzzing for ${seconds}s (corpus $corpus, artifacts $artifacts)"
set +e
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
"$build/policy_fuzzer" \
    -max_total_time="$seconds" \
    -detect_leaks=1 \
    -timeout=20 \
    -rss_limit_mb=2048 \
    -max_len=16384 \
    -dict="$here/policy.dict" \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$corpus" >"$build/fuzz.log" 2>&1
status=$?
set -e

tail -n 25 "$build/fuzz.log"
findings=$(find "$artifacts" -type f | wc -l)
if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
    echo "run-fuzz: FAILED: fuzzer exit status $status, $findings finding(s) in $artifacts (full log: $build/fuzz.log)" >&2
    find "$artifacts" -type f >&2
    exit 1
fi
echo "run-fuzz: ok: no findings in ${seconds}s (full log: $build/fuzz.log)"
