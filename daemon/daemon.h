// daemon.h — the service.  Each step of its life is in its own file:
//
//   startup.cpp  settings, the instance lock, the first compile, the sinks,
//                adopting what a previous bulwarkd pinned, the choice of
//                enforcement mode (the one place), generation 1 written before
//                any program attaches, pinning, the event pipeline
//   reload.cpp   the reload transaction (compile, register, write, switch)
//                and its timings
//   status.cpp   `bulwarkctl status` (the JSON answer)
//   daemon.cpp   the main loop (signals, control socket) and how bulwarkd
//                leaves (enforcement pinned, or detached)
#pragma once

#include <signal.h>

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
#include "daemon/integrity.h"
#include "daemon/journal_sink.h"
#include "daemon/loader.h"
#include "daemon/map_writer.h"
#include "daemon/pins.h"
#include "daemon/pipeline.h"
#include "daemon/self_guard.h"
#include "daemon/status_model.h"
#include "policy/policy.h"
#include "policy/unique_fd.h"

namespace bulwark {

// Exit codes of bulwarkd (docs/daemon.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitBadConfig = 1;    // settings or policy invalid
inline constexpr int kExitUsage = 2;        // command line
inline constexpr int kExitRuntime = 3;      // audit log, maps, event loop
inline constexpr int kExitUnsupported = 4;  // the requested enforcement mode is not available here
inline constexpr int kExitRunning = 5;      // another bulwarkd is running
inline constexpr int kExitDisabled = 6;     // bulwark.disable=1 on the kernel command line (break_glass.h)

// Seconds between two checks of the kernel's state (daemon/integrity.h).
inline constexpr int kIntegrityCheckSeconds = 5;

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
CompileOutcome compile_policy_dir(const std::string& dir, const policy::CompileOptions& opts);
// Rules per kind, as status, STATUS= and the start-up line show them.
RuleCounts rule_counts(const policy::CompiledPolicy& compiled);
// Every diagnostic to the log (subsystem "policy"), errors as errors.
void log_diagnostics(const std::vector<policy::Diagnostic>& diags);

struct ReloadResult {
    bool ok = false;
    int64_t wall_ns = 0;
    double duration_ms = 0;
    double parse_ms = 0, compile_ms = 0, maps_ms = 0;  // its phases
    uint32_t generation = 0;            // in force afterwards
    std::vector<std::string> errors;    // file:line:col: error: ...
    std::vector<std::string> warnings;
};

// What bulwarkd leaves behind when it exits.
enum class ExitEnforcement {
    pinned,    // the last generation stays in force (restart, upgrade, crash)
    detached,  // nothing stays (systemctl stop, package removal, a foreground stop)
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
    // Stops the pipeline and leaves enforcement pinned or detaches it (as
    // decided when the stop signal came); says which in the journal.
    void shut_down();

private:
    Daemon() = default;
    // Compiles the policy directory and, if valid, switches the kernel to it.
    ReloadResult reload();
    // reload(), told to systemd (RELOADING=1 ... READY=1, STATUS=).
    ReloadResult notified_reload();
    // Registers `compiled` as the next generation, writes it and switches.
    Result<GenerationInfo> install(const std::shared_ptr<const policy::CompiledPolicy>& compiled, double& ms);
    // Compares the kernel's state with what bulwarkd wrote; when it was
    // changed, logs at crit, restores the policy as a new generation and
    // reports TAMPERED from then on (daemon/integrity.h).
    void verify_integrity();
    // LSM mode with selfProtection: bw_self_files holds bulwark's own files
    // as they are at their paths now (a package upgrade replaces them).
    void guard_self_files();
    // After a switch to `generation`: descriptors opened before it
    // (daemon/preexisting.h).
    void mark_preexisting(uint32_t generation);
    // `bulwarkctl apply --confirm-within`: reload, and go back to the last
    // confirmed policy unless `bulwarkctl confirm` comes within `seconds`
    // (daemon/trial.cpp).
    nlohmann::json apply(uint64_t seconds);
    nlohmann::json confirm();
    // The trial's time is up: the last confirmed policy, as a new generation.
    void end_trial();
    nlohmann::json status() const;
    // `bulwarkctl status --rules` (daemon/status.cpp).
    nlohmann::json bindings() const;
    nlohmann::json handle(const nlohmann::json& request);
    void notify_status() const;
    ExitEnforcement decide_exit() const;

    DaemonConfig config_;
    policy::CompileOptions compile_opts_;  // what the loaded programs can key (btrfs)
    UniqueFd instance_lock_;
    std::optional<PinDir> pins_;
    std::string pins_unavailable_;  // why enforcement does not outlive bulwarkd here
    bool adopted_ = false;          // took over a previous bulwarkd's pins
    uint32_t adopted_generation_ = 0;
    // Members are destroyed in reverse order: the pipeline stops (draining
    // the kernel's last events) before the sinks and programs go.
    std::unique_ptr<AuditSink> audit_;
    std::unique_ptr<JournalSink> journal_;
    std::unique_ptr<Enforcer> enforcer_;
    std::unique_ptr<MapWriter> writer_;
    std::unique_ptr<IntegrityGuard> integrity_;
    IntegrityStatus integrity_status_;
    RuleBook rules_;
    std::unique_ptr<EventPipeline> pipeline_;
    std::unique_ptr<ControlServer> control_;
    EnforcementMode mode_ = EnforcementMode::lsm;
    Variant variant_ = Variant::lsm;
    SelfSpec self_spec_;  // what bw_self says (daemon/self_guard.h)
    bw_self self_{};      // ... as last written
    std::vector<SelfFile> self_files_;  // bw_self_files as last written
    std::optional<ExitEnforcement> exit_enforcement_;

    std::shared_ptr<const policy::CompiledPolicy> current_;
    GenerationInfo current_info_;
    int64_t loaded_at_ns_ = 0;
    int64_t started_at_ns_ = 0;
    size_t current_policies_ = 0;
    std::optional<ReloadResult> last_reload_;

    // A policy on trial: what goes back in force at `deadline_ns` (wall
    // clock) unless confirmed; trial_timer_ fires then (a one-shot timerfd).
    struct Trial {
        std::shared_ptr<const policy::CompiledPolicy> fallback;  // the last confirmed policy
        size_t fallback_policies = 0;
        uint32_t fallback_generation = 0;  // its generation when the trial began
        uint32_t generation = 0;           // the trial's
        uint64_t seconds = 0;
        int64_t deadline_ns = 0;
    };
    std::optional<Trial> trial_;
    UniqueFd trial_timer_;
};

// The control socket's answer to a reload (and an apply).
nlohmann::json reload_answer(const ReloadResult& r);

// Wall-clock now, in ns.
int64_t wall_now_ns();
// The signals bulwarkd takes from a signalfd (blocked in every thread).
sigset_t handled_signals();

}  // namespace bulwark
