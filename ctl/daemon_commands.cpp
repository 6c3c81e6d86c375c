// `bulwarkctl status` and `bulwarkctl reload`: talk to the running bulwarkd
// over its control socket (root only).
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "ctl/commands.h"
#include "daemon/break_glass.h"
#include "daemon/control_wire.h"
#include "daemon/status_model.h"

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
        if (err == ENOENT || err == ECONNREFUSED) {
            std::cerr << "bulwarkd is not running (no control socket at " << a.socket << ")\n";
            if (break_glass_this_boot()) std::cerr << break_glass_message() << "\n";
        }
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

}  // namespace

Command add_status_command(CLI::App& app) {
    auto args = std::make_shared<DaemonArgs>();
    CLI::App* sub = app.add_subcommand("status", "show what bulwarkd enforces, its mode, events and last reload");
    sub->add_option("--socket", args->socket, "bulwarkd's control socket")->capture_default_str();
    sub->add_flag("--json", args->json, "print the daemon's answer as JSON");
    auto rules = std::make_shared<bool>(false);
    sub->add_flag("--rules", *rules,
                  "show what each rule is bound to (its file at the load, its path now) and each scope's cgroups");
    return {sub, [args, rules] {
                if (*rules) {
                    auto j = ask(*args, "rules", 30000);
                    if (!j) return exit_not_running;
                    auto b = bindings_from_json(*j);
                    if (!b) {
                        std::cerr << "bulwarkctl: " << b.error().to_string() << "\n";
                        return exit_not_running;
                    }
                    std::cout << (args->json ? to_json(*b).dump(2) + "\n" : render_bindings_text(*b));
                    return exit_ok;
                }
                auto j = ask(*args, "status", 5000);
                if (!j) return exit_not_running;
                auto st = status_from_json(*j);
                if (!st) {
                    std::cerr << "bulwarkctl: " << st.error().to_string() << "\n";
                    return exit_not_running;
                }
                if (args->json)
                    std::cout << to_json(*st).dump(2) << "\n";
                else
                    std::cout << render_status_text(*st);
                // Tampering is not "running fine": scripts and monitoring see it.
                return st->integrity.tampered ? exit_tampered : exit_ok;
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
