// daemon.h — the service: start-up (config, policy, BPF programs, maps),
// the main loop (signals, control socket, reloads) and shutdown.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/audit_sink.h"
#include "daemon/config.h"
#include "daemon/control.h"
#include "daemon/error.h"
#include "daemon/journal_sink.h"
#include "daemon/loader.h"
#include "daemon/map_writer.h"
#include "daemon/pipeline.h"
#include "policy/policy.h"

namespace bulwark {

// Exit codes of bulwarkd (docs/daemon.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitBadConfig = 1;    // settings or policy invalid
inline constexpr int kExitUsage = 2;        // command line
inline constexpr int kExitRuntime = 3;      // audit log, maps, event loop
inline constexpr int kExitUnsupported = 4;  // the requested enforcement mode is not available here

struct DaemonOptions {
    std::string config_path = "/etc/bulwark/bulwark.yaml";
    std::optional<std::string> policy_dir;      // overrides the settings file
    std::optional<std::string> audit_log;       // overrides the settings file
    std::optional<std::string> control_socket;  // overrides the settings file
};

// A policy compiled from the policy directory, or why it could not be.
struct CompileOutcome {
    std::shared_ptr<const policy::CompiledPolicy> compiled;  // null on errors
    std::vector<policy::Diagnostic> diagnostics;
    size_t policies = 0;
    double parse_ms = 0;    // reading and parsing the YAML files
    double compile_ms = 0;  // resolving paths to identities, precedence
};
CompileOutcome compile_policy_dir(const std::string& dir);

struct ReloadResult {
    bool ok = false;
    int64_t wall_ns = 0;
    double duration_ms = 0;
    double parse_ms = 0, compile_ms = 0, maps_ms = 0;  // its phases
    uint32_t generation = 0;            // in force afterwards
    std::vector<std::string> errors;    // file:line:col: error: ...
    std::vector<std::string> warnings;
};

class Daemon {
public:
    // Everything up to "enforcing": returns an exit code on failure.
    static std::variant<std::unique_ptr<Daemon>, int> start(const DaemonOptions& opts);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Runs until SIGTERM/SIGINT; returns the exit code.
    int run();

private:
    Daemon() = default;
    // Compiles the policy directory and, if valid, switches the kernel to it.
    ReloadResult reload();
    nlohmann::json status() const;
    nlohmann::json handle(const nlohmann::json& request);
    void notify_status() const;

    DaemonConfig config_;
    // Members are destroyed in reverse order: the pipeline stops (draining
    // the kernel's last events) before the sinks and programs go.
    std::unique_ptr<AuditSink> audit_;
    std::unique_ptr<JournalSink> journal_;
    std::unique_ptr<Enforcer> enforcer_;
    std::unique_ptr<MapWriter> writer_;
    RuleBook rules_;
    std::unique_ptr<EventPipeline> pipeline_;
    std::unique_ptr<ControlServer> control_;
    EnforcementMode mode_ = EnforcementMode::lsm;

    std::shared_ptr<const policy::CompiledPolicy> current_;
    GenerationInfo current_info_;
    int64_t loaded_at_ns_ = 0;
    int64_t started_at_ns_ = 0;
    size_t current_policies_ = 0;
    std::optional<ReloadResult> last_reload_;
};

}  // namespace bulwark
