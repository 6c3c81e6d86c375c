// loader.h — loads and attaches the BPF programs (the feature probe is the
// real load and attach: if it fails, the mode is not available).
#pragma once

#include <memory>
#include <string>

#include "daemon/error.h"

struct bulwark_lsm;

namespace bulwark {

enum class EnforcementMode { lsm, tracepoint };
const char* to_string(EnforcementMode m);

// File descriptors of the maps every enforcement mode shares (owned by the
// loaded object; valid while it lives).
struct PolicyMapFds {
    int files_outer = -1;
    int exec_outer = -1;
    int scopes_outer = -1;
    int config = -1;
    int state = -1;
    int counters = -1;
};

struct LoadOptions {
    uint32_t ring_buffer_bytes = 1u << 20;
};

// The LSM programs, loaded and attached.  Destroying it detaches every link
// and frees the maps; nothing is pinned.
class LsmPrograms {
public:
    // Loads, verifies and attaches file_open and bprm_check_security.  The
    // error says which step failed, why, and what that usually means.
    static Result<std::unique_ptr<LsmPrograms>> load(const LoadOptions& opts);
    ~LsmPrograms();
    LsmPrograms(const LsmPrograms&) = delete;
    LsmPrograms& operator=(const LsmPrograms&) = delete;

    PolicyMapFds maps() const;
    int events_fd() const;

private:
    explicit LsmPrograms(bulwark_lsm* skel) : skel_(skel) {}
    bulwark_lsm* skel_;
};

// The kernel's active LSM list (/sys/kernel/security/lsm), or "" if unreadable.
std::string active_lsm_list();

}  // namespace bulwark
