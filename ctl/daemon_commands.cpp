// `bulwarkctl status` and `bulwarkctl reload`: talk to the running bulwarkd
// over its control socket (root only).
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "ctl/commands.h"
#include "daemon/control.h"

namespace bulwark::ctl {
namespace {

struct DaemonArgs {
    std::string socket = kDefaultControlSocket;
    bool json = false;
};

// Asks bulwarkd; on failure says why and returns nullopt.
std::optional<nlohmann::json> ask(const DaemonArgs& a, const std::string& cmd, int timeout_ms) {
    auto r = control_request(a.socket, {{"cmd", cmd}}, timeout_ms);
    if (!r) {
        const int err = r.error().err;
        if (err == ENOENT || err == ECONNREFUSED)
            std::cerr << "bulwarkd is not running (no control socket at " << a.socket << ")\n";
        else if (err == EACCES || err == EPERM)
            std::cerr << "permission denied: only root may talk to bulwarkd (" << a.socket << ")\n";
        else
            std::cerr << "bulwarkctl: " << r.error().to_string() << "\n";
        return std::nullopt;
    }
    if (!r->value("ok", false) && r->contains("error")) {
        std::cerr << "bulwarkd: " << (*r)["error"].get<std::string>() << "\n";
        return std::nullopt;
    }
    return *r;
}

std::string counts_text(const nlohmann::json& rules) {
    std::string s;
    for (const char* k : {"protectedFiles", "killOnOpen", "execAllowlist"}) {
        const int n = rules.value(k, 0);
        if (n == 0) continue;
        if (!s.empty()) s += ", ";
        s += std::to_string(n) + " " + k;
    }
    return s.empty() ? "no rules" : s;
}

void print_status(const nlohmann::json& j) {
    std::cout << "bulwarkd: running (pid " << j["pid"] << ", version " << j["version"].get<std::string>()
              << ", since " << j["started_at"].get<std::string>() << ")\n";
    std::cout << "mode: " << j["mode"].get<std::string>() << "\n";
    std::cout << "policy: generation " << j["generation"] << ", loaded " << j["loaded_at"].get<std::string>()
              << " from " << j["policy_dir"].get<std::string>() << "\n";
    const auto& m = j["map_entries"];
    std::cout << "rules: " << counts_text(j["rules"]) << " (map entries: " << m["files"] << " files, " << m["exec"]
              << " exec, " << m["scope_cgroups"] << " scope cgroups)\n";
    std::cout << "policies:\n";
    for (const auto& p : j["policies"]) {
        std::string scope = "whole host";
        if (p["scope"].is_object()) {
            scope = "cgroups";
            for (const auto& c : p["scope"]["cgroups"]) scope += " " + c.get<std::string>();
            if (p["scope"]["cgroups"].empty()) scope = "scope matches no cgroup now";
        }
        std::cout << "  " << p["name"].get<std::string>() << " (" << p["mode"].get<std::string>() << ", " << scope
                  << "): " << counts_text(p["rules"]) << "\n";
    }
    const auto& e = j["events"];
    std::cout << "events: " << e["delivered"] << " delivered, " << e["verdicts"] << " verdicts; lost: "
              << e["lost_kernel"] << " in the ring buffer, " << e["lost_queue"] << " in the queue; "
              << e["malformed"] << " malformed\n";
    if (j["last_reload"].is_null()) {
        std::cout << "last reload: none since start\n";
    } else {
        const auto& r = j["last_reload"];
        std::cout << "last reload: " << (r["ok"].get<bool>() ? "ok" : "REFUSED") << " at "
                  << r["time"].get<std::string>() << " (" << r["duration_ms"].get<double>() << " ms), generation "
                  << r["generation"] << " in force\n";
        for (const auto& err : r["errors"]) std::cout << "  " << err.get<std::string>() << "\n";
    }
    std::cout << "audit log: " << j["audit_log"].get<std::string>() << "\n";
}

}  // namespace

Command add_status_command(CLI::App& app) {
    auto args = std::make_shared<DaemonArgs>();
    CLI::App* sub = app.add_subcommand("status", "show what bulwarkd enforces, its mode, events and last reload");
    sub->add_option("--socket", args->socket, "bulwarkd's control socket")->capture_default_str();
    sub->add_flag("--json", args->json, "print the daemon's answer as JSON");
    return {sub, [args] {
                auto j = ask(*args, "status", 5000);
                if (!j) return exit_not_running;
                if (args->json)
                    std::cout << j->dump(2) << "\n";
                else
                    print_status(*j);
                return exit_ok;
            }};
}

Command add_reload_command(CLI::App& app) {
    auto args = std::make_shared<DaemonArgs>();
    CLI::App* sub = app.add_subcommand(
        "reload", "make bulwarkd compile and switch to the policy directory; fails if the policy is invalid");
    sub->add_option("--socket", args->socket, "bulwarkd's control socket")->capture_default_str();
    sub->add_flag("--json", args->json, "print the daemon's answer as JSON");
    return {sub, [args] {
                auto j = ask(*args, "reload", 120000);
                if (!j) return exit_not_running;
                if (args->json) std::cout << j->dump(2) << "\n";
                for (const auto& w : (*j)["warnings"]) std::cerr << w.get<std::string>() << "\n";
                for (const auto& e : (*j)["errors"]) std::cerr << e.get<std::string>() << "\n";
                if (!(*j)["ok"].get<bool>()) {
                    std::cerr << "reload refused: the previous policy (generation " << (*j)["generation"]
                              << ") stays in force\n";
                    return exit_invalid;
                }
                if (!args->json)
                    std::cout << "reloaded: generation " << (*j)["generation"] << " in force ("
                              << (*j)["duration_ms"].get<double>() << " ms)\n";
                return exit_ok;
            }};
}

}  // namespace bulwark::ctl
