// instance_lock.h — only one bulwarkd runs at a time.  The lock is taken
// before bulwarkd touches anything another instance owns (its control
// socket, its pins, its audit log), so a second bulwarkd exits with a clear
// error and changes nothing.
#pragma once

#include <string>

#include "daemon/error.h"
#include "policy/unique_fd.h"

namespace bulwark {

// Outside /run/bulwark: systemd removes the RuntimeDirectory= when the unit
// fails, and a lock file deleted under its holder would let a second
// bulwarkd lock a new one.
inline constexpr const char* kInstanceLockPath = "/run/bulwarkd.lock";

// An exclusive flock on `path` (its directory is created 0700 if missing),
// held while the returned fd is open.  EWOULDBLOCK: another bulwarkd holds
// it (the error names its pid).
Result<UniqueFd> acquire_instance_lock(const std::string& path = kInstanceLockPath);

}  // namespace bulwark
