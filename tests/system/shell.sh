#!/bin/bash
# A "test" that gives you a root shell in the system-tier VM, for debugging:
#   tests/system/run-system-test.sh --work /tmp/sysvm --test tests/system/shell.sh \
#       --interactive --timeout 0 [--deb ...] [--file ...]
# The shell is on the serial console, with job control (Ctrl-C, Ctrl-Z).
# `exit N` ends it; the VM reports N and powers off (Ctrl-A x kills qemu).
exec </dev/ttyS0 >/dev/ttyS0 2>&1
stty sane 2>/dev/null || true
echo "bulwark-system-test: shell; 'exit' powers off"
exec setsid --ctty --wait bash -i
