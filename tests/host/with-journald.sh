#!/bin/sh
# Runs CMD with a private, real systemd-journald: in a new mount namespace,
# /run and the journal and catalog directories are private tmpfs, so nothing
# of the build machine's own logging is touched.  Needs root.
#   with-journald.sh CATALOG_FILE -- CMD [ARGS...]
# Inside CMD: JOURNAL_DIR names the journal directory for `journalctl -D`.
set -eu
if [ "${BULWARK_IN_NS:-}" != 1 ]; then
    [ "$(id -u)" -eq 0 ] || { echo "with-journald: needs root (mount namespace)" >&2; exit 1; }
    BULWARK_IN_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
catalog=$1
shift
[ "$1" = "--" ] && shift
journald=/lib/systemd/systemd-journald
[ -x "$journald" ] || { echo "with-journald: $journald not found (package systemd)" >&2; exit 1; }

mount -t tmpfs bwrun /run
mkdir -p /run/systemd/journal /run/log/journal /run/bwcat
# Persistent storage must not be used: hide /var/log/journal if it exists.
[ -d /var/log/journal ] && mount -t tmpfs bwjournal /var/log/journal
# The catalog: the system's own plus ours, and a private database.
cp /usr/lib/systemd/catalog/*.catalog /run/bwcat/ 2>/dev/null || true
cp "$catalog" /run/bwcat/
mount --bind /run/bwcat /usr/lib/systemd/catalog
mkdir -p /var/lib/systemd/catalog
mount -t tmpfs bwcatdb /var/lib/systemd/catalog
journalctl --update-catalog

"$journald" &
jpid=$!
trap 'kill $jpid 2>/dev/null; wait $jpid 2>/dev/null || true' EXIT
i=0
while [ ! -S /run/systemd/journal/socket ]; do
    i=$((i + 1))
    [ $i -le 500 ] || { echo "with-journald: journald did not create its socket" >&2; exit 1; }
    kill -0 $jpid 2>/dev/null || { echo "with-journald: journald exited" >&2; exit 1; }
    sleep 0.01
done
export JOURNAL_DIR=/run/log/journal
"$@"
