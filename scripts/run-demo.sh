#!/bin/sh
# Installs what is needed, builds, and runs bulwarkd in the foreground with
# the repository's settings (config/bulwark.yaml) and example policy
# (config/policies.d/demo.yaml), which guards demo files in /tmp/bulwark-demo
# (root-owned copies of both, in /tmp/bulwark-demo/etc).
# Usage: sudo scripts/run-demo.sh        Stop with Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DEMO=/tmp/bulwark-demo

scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DBULWARK_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target bulwarkd bulwarkctl

# The demo files the example policy names.
mkdir -p "$DEMO"
printf 'demo secret: nobody may open this\n' > "$DEMO/secret.txt"
printf 'demo: read me, but never change me\n' > "$DEMO/readonly.txt"
printf 'demo canary: whoever opens this is killed\n' > "$DEMO/canary.txt"
cp /bin/true "$DEMO/allowed-tool"
cp /bin/echo "$DEMO/blocked-tool"

# The cgroup the example exec allowlist is scoped to.
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    mkdir -p /sys/fs/cgroup/bulwark-demo
else
    echo "run-demo: /sys/fs/cgroup is not cgroup v2; the demo exec allowlist stays inactive"
fi

# bulwarkd reads settings and policies only where root alone can change them
# (docs/daemon.md, "Trusted files"): the demo runs from root-owned copies, so
# a clone owned by another user works too.
ETC="$DEMO/etc"
rm -rf "$ETC"
install -d -o root -g root -m 0755 "$ETC" "$ETC/policies.d"
install -o root -g root -m 0644 config/bulwark.yaml "$ETC/bulwark.yaml"
install -o root -g root -m 0644 config/policies.d/*.yaml "$ETC/policies.d/"
chown root:root "$DEMO"
chmod 0755 "$DEMO"

"$BUILD_DIR/ctl/bulwarkctl" check "$ETC/policies.d"

cat <<MSG

bulwarkd starts now (Ctrl-C stops it).  Audit log: $DEMO/audit.jsonl
Its first lines say the mode: lsm (the kernel refuses) or tracepoint (where
BPF LSM cannot be attached: the offender is killed instead, see docs/modes.md).
From another shell, try:
  cat $DEMO/secret.txt                      # lsm: Operation not permitted; tracepoint: cat is killed
  echo change >> $DEMO/readonly.txt         # lsm: Operation not permitted (reading still works)
  rm $DEMO/readonly.txt                     # lsm: Operation not permitted
  cat $DEMO/canary.txt                      # cat is killed
  sh -c 'echo \$\$ > /sys/fs/cgroup/bulwark-demo/cgroup.procs; exec $DEMO/blocked-tool hi'   # refused / killed
  $BUILD_DIR/ctl/bulwarkctl status --socket $DEMO/control.sock
  tail -f $DEMO/audit.jsonl

MSG
exec "$BUILD_DIR/daemon/bulwarkd" --config "$ETC/bulwark.yaml" \
    --policy-dir "$ETC/policies.d" --audit-log "$DEMO/audit.jsonl" --control-socket "$DEMO/control.sock"
