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
#include "daemon/map_writer.h"
#include "policy/policy.h"

struct ring_buffer;

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
    Status load_policy(bool initial);
    void handle_event(const void* data, size_t size);
    static int ring_callback(void* ctx, void* data, size_t size);

    DaemonConfig config_;
    std::unique_ptr<AuditSink> audit_;
    std::unique_ptr<LsmPrograms> programs_;
    std::unique_ptr<MapWriter> writer_;
    ring_buffer* ring_ = nullptr;
    EnforcementMode mode_ = EnforcementMode::lsm;
    // Rule tables of the generations the kernel may still report events for.
    std::map<uint32_t, std::shared_ptr<const policy::CompiledPolicy>> generations_;
    uint64_t seq_ = 0;
    uint64_t malformed_ = 0;
};

}  // namespace bulwark
