// daemon.h — the service: start-up (config, policy, BPF programs, maps),
// the event loop (ring buffer + signals) and shutdown.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "daemon/audit_sink.h"
#include "daemon/config.h"
#include "daemon/error.h"
#include "daemon/event.h"
#include "daemon/loader.h"
#include "daemon/journal_sink.h"
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
    std::optional<std::string> policy_dir;  // overrides the settings file
    std::optional<std::string> audit_log;   // overrides the settings file
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
    Status load_policy();

    DaemonConfig config_;
    // Declaration order is destruction order in reverse: the pipeline stops
    // (draining the kernel's last events) before the sinks and programs go.
    std::unique_ptr<AuditSink> audit_;
    std::unique_ptr<JournalSink> journal_;
    std::unique_ptr<LsmPrograms> programs_;
    std::unique_ptr<MapWriter> writer_;
    RuleBook rules_;
    std::unique_ptr<EventPipeline> pipeline_;
    EnforcementMode mode_ = EnforcementMode::lsm;
};

}  // namespace bulwark
