// bulwarkd — the bulwark daemon.  A thin main: the work is in daemon/
// (daemon.h says which file does what).
#include <csignal>
#include <cstdlib>
#include <variant>

#include <CLI/CLI.hpp>

#include "daemon/daemon.h"
#include "daemon/log.h"

int main(int argc, char** argv) {
    // A closed pipe or socket (a client, a restarted journald) is an error
    // where it happens, not the end of enforcement's daemon.
    std::signal(SIGPIPE, SIG_IGN);
    bulwark::DaemonOptions opts;
    CLI::App app{"bulwarkd — enforces bulwark policies in the kernel with BPF"};
    app.add_option("-c,--config", opts.config_path, "settings file")->capture_default_str();
    app.add_option("--policy-dir", opts.policy_dir, "policy directory (overrides policyDir)");
    app.add_option("--audit-log", opts.audit_log, "audit log file (overrides auditLog)");
    app.add_option("--control-socket", opts.control_socket, "control socket (overrides controlSocket)");
    app.set_version_flag("--version", "bulwarkd " BULWARK_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : bulwark::kExitUsage;
    }

    // Under systemd, stderr is the journal: add syslog priority prefixes.
    bulwark::log::init(std::getenv("JOURNAL_STREAM") != nullptr);

    auto started = bulwark::Daemon::start(opts);
    if (auto* rc = std::get_if<int>(&started)) return *rc;
    auto& daemon = std::get<std::unique_ptr<bulwark::Daemon>>(started);
    const int rc = daemon->run();
    daemon->shut_down();
    return rc;
}
