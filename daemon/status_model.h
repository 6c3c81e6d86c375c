// status_model.h — `bulwarkctl status` as a type: built by bulwarkd
// (daemon/status.cpp), sent as JSON over the control socket, read back and
// rendered by bulwarkctl.  One definition of every key (docs/daemon.md
// documents them); part of the small bulwark_control library.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/error.h"

namespace bulwark {

struct RuleCounts {
    int protected_files = 0;  // "protectedFiles"
    int kill_on_open = 0;     // "killOnOpen"
    int exec_allowlist = 0;   // "execAllowlist"
};

struct PolicyStatus {
    std::string name;
    std::string mode;                                  // "enforce" / "audit"
    std::optional<std::vector<std::string>> cgroups;   // nullopt: the whole host
    RuleCounts rules;
};

struct EventCounts {
    uint64_t delivered = 0, verdicts = 0, lost_kernel = 0, lost_queue = 0, malformed = 0, lost_write = 0;
    uint64_t unattributed = 0;  // records of a generation bulwarkd did not know (before an adoption)
};

// What the kernel side could not carry out as the policy says.
struct KernelGaps {
    uint64_t kill_failed = 0;
    uint64_t walk_truncated = 0;
    uint64_t bad_state = 0;
    uint64_t no_policy = 0;
    uint64_t scope_bind_failed = 0;
    std::map<std::string, uint64_t> recursion_misses;  // per program
    uint64_t total() const;
};

struct Persistence {
    bool pinned = false;            // enforcement outlives bulwarkd
    std::string pin_dir;
    std::string unavailable;        // why not, when !pinned
    std::optional<uint32_t> adopted_generation;  // in force when this bulwarkd started
};

// Whether the kernel still held what bulwarkd wrote (daemon/integrity.h).
struct IntegrityStatus {
    bool tampered = false;      // found changed at least once since start (and restored)
    std::string detected_at;    // the last time, "" when never
    std::string detail;         // what was found changed
    uint32_t restored_generation = 0;
    // "kernel": the LSM hooks refuse everyone but bulwarkd its objects;
    // "off" (selfProtection: false) or "unavailable" (tracepoint mode):
    // changes are only detected and restored.
    std::string self_protection = "off";
};

struct ReloadStatus {
    bool ok = false;
    std::string time;
    double duration_ms = 0, parse_ms = 0, compile_ms = 0, maps_ms = 0;
    uint32_t generation = 0;
    std::vector<std::string> errors, warnings;
};

// A policy on trial (bulwarkctl apply --confirm-within).
struct TrialStatus {
    uint32_t generation = 0;           // on trial
    uint32_t fallback_generation = 0;  // whose policy goes back in force ...
    std::string deadline;              // ... at this time, unless confirmed
};

struct DaemonStatus {
    int64_t pid = 0;
    std::string version;
    std::string mode;                                // "lsm" / "tracepoint"
    std::vector<std::string> attached;
    std::map<std::string, std::string> limitations;  // rule kind -> what this mode cannot do
    std::string started_at, policy_dir, audit_log;
    bool journal = false;
    uint32_t generation = 0;
    std::string loaded_at;
    RuleCounts rules;
    uint64_t file_entries = 0, exec_entries = 0, scope_cgroups = 0;
    std::vector<PolicyStatus> policies;
    EventCounts events;
    KernelGaps kernel;
    Persistence persistence;
    IntegrityStatus integrity;
    std::optional<ReloadStatus> last_reload;
    std::optional<TrialStatus> trial;
};

// `bulwarkctl status --rules`: what each rule of the generation in force is
// bound to, and what its path holds now.
struct RuleBinding {
    uint32_t id = 0;
    std::string policy, kind, path;  // path as written
    std::string resolved;            // what it resolved to at the load ("" when not found)
    std::string loaded;              // identity at the load, "dev:ino" ("" when none)
    std::string now;                 // identity at the path now ("" when nothing is there)
    bool directory = false;
    bool bound_to_path = false;      // also bound to its name in its directory
    std::string state;               // what that means, in words
};

struct ScopeBinding {
    std::string policy;
    std::vector<std::string> units, cgroups;  // as written
    std::vector<std::string> resolved;        // cgroup paths found at the load
    std::vector<std::string> unresolved;      // "unit X" / "cgroup X" that matched nothing at the load
};

struct BindingsStatus {
    uint32_t generation = 0;
    std::string bound_at;  // when the generation was compiled: the last time every rule was re-bound
    std::vector<RuleBinding> rules;
    std::vector<ScopeBinding> scopes;
};

nlohmann::json to_json(const BindingsStatus& b);
Result<BindingsStatus> bindings_from_json(const nlohmann::json& j);
std::string render_bindings_text(const BindingsStatus& b);

nlohmann::json to_json(const DaemonStatus& s);
// Strict: a missing or mistyped key is an error that names it.
Result<DaemonStatus> status_from_json(const nlohmann::json& j);
// The text `bulwarkctl status` prints.
std::string render_status_text(const DaemonStatus& s);

}  // namespace bulwark
