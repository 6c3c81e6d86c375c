#!/bin/sh
# Runs CMD in a new mount namespace where tracefs is mounted at
# /sys/kernel/tracing (the build machines have it unmounted), so that
# tracepoint mode takes the syscall trace events.  Nothing leaks to the
# machine: the mount dies with the namespace.  Needs root.
#   with-tracefs.sh -- CMD [ARGS...]
set -eu
if [ "${BULWARK_IN_NS:-}" != 1 ]; then
    [ "$(id -u)" -eq 0 ] || { echo "with-tracefs: needs root (mount namespace)" >&2; exit 1; }
    BULWARK_IN_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
[ "$1" = "--" ] && shift
if [ ! -e /sys/kernel/tracing/events/syscalls/sys_exit_openat/id ]; then
    mount -t tracefs tracefs /sys/kernel/tracing
fi
[ -e /sys/kernel/tracing/events/syscalls/sys_exit_openat/id ] ||
    { echo "with-tracefs: this kernel has no syscall trace events (CONFIG_FTRACE_SYSCALLS)" >&2; exit 1; }
exec "$@"
