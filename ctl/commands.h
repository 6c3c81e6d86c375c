// commands.h — bulwarkctl subcommands.  Each one registers its options on the
// CLI11 app and returns how to run it; main() only dispatches.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace bulwark::ctl {

// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;       // success (warnings allowed)
inline constexpr int exit_invalid = 1;  // the command ran and found errors
inline constexpr int exit_usage = 2;    // bad command line
inline constexpr int exit_not_running = 3;  // bulwarkd is not running / cannot be reached
inline constexpr int exit_tampered = 4;     // status: bulwarkd found its kernel state changed (and restored it)

// bulwarkd's settings file: where check finds the policy directory, and
// status/reload/apply/confirm the control socket (controlSocket).
inline constexpr const char* kDefaultSettings = "/etc/bulwark/bulwark.yaml";

struct Command {
    CLI::App* app = nullptr;   // the subcommand, to see whether it was chosen
    std::function<int()> run;  // runs it; returns the exit code
};

// `bulwarkctl check [FILE|DIR|-]...`: parse and compile policies (none
// given: the settings file and its policy directory), print every
// diagnostic to stderr and the summary to stdout when valid.
Command add_check_command(CLI::App& app);

// `bulwarkctl status`: what the running daemon enforces (daemon_commands.cpp).
Command add_status_command(CLI::App& app);
// `bulwarkctl reload`: compile and switch; exit 1 if the policy is refused.
Command add_reload_command(CLI::App& app);
// `bulwarkctl apply --confirm-within D`: a reload on trial; `bulwarkctl
// confirm` keeps it, else bulwarkd puts the last confirmed policy back.
Command add_apply_command(CLI::App& app);
Command add_confirm_command(CLI::App& app);

}  // namespace bulwark::ctl
