// self_guard.h — who bulwarkd is, told to the kernel side (bw_self): its
// process, the host's mount namespace, its binary, its pin directory, and
// whether the LSM hooks refuse everyone else bulwark's own objects
// (docs/architecture.md, "Self-protection").
#pragma once

#include <string>

#include "bulwark_abi.h"
#include "daemon/error.h"

namespace bulwark {

struct SelfSpec {
    bool protect = false;  // selfProtection in force (LSM mode only)
    std::string pin_dir;   // "" when nothing is pinned
};

// Writes bw_self for this process and returns what it wrote.
Result<bw_self> write_self(int self_fd, const SelfSpec& spec);

// At an exit that leaves enforcement pinned (a restart, an upgrade): names
// the binary now at this bulwarkd's path as the second one that may take
// over (dpkg replaces it by rename).  Updates `self` to what it wrote.
Status name_successor(int self_fd, bw_self& self);

}  // namespace bulwark
