// loader.h — loads and attaches the BPF programs of one enforcement mode.
// The feature probe is the real load and attach: if it fails, that mode is
// not available on this kernel, and the error says which step failed and why.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/error.h"

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
    int dir_filter = -1;
    int state = -1;
    int counters = -1;
};

struct LoadOptions {
    uint32_t ring_buffer_bytes = 1u << 20;
    // tracepoint mode: protected files are only reported, not killed.
    bool tracepoint_protect_audit_only = false;
};

// What one rule kind gets in a mode, for status and logs.
struct Limitation {
    std::string rule_kind;  // "protectedFiles", "killOnOpen", "execAllowlist"
    std::string text;
};

// Loaded, attached programs.  Destroying it detaches every link and frees the
// maps; nothing is pinned.
class Enforcer {
public:
    virtual ~Enforcer() = default;
    virtual EnforcementMode mode() const = 0;
    virtual PolicyMapFds maps() const = 0;
    virtual int events_fd() const = 0;
    virtual const std::vector<std::string>& attached() const = 0;  // "lsm/file_open", ...
    // What this mode cannot do, per rule kind (empty for LSM mode).
    virtual std::vector<Limitation> limitations() const = 0;
};

Result<std::unique_ptr<Enforcer>> load_lsm(const LoadOptions& opts);
Result<std::unique_ptr<Enforcer>> load_tracepoint(const LoadOptions& opts);

// The kernel's active LSM list (/sys/kernel/security/lsm), or "" if unreadable.
std::string active_lsm_list();

}  // namespace bulwark
