// `bulwarkctl status` and `bulwarkctl reload`: talk to the running bulwarkd
// over its control socket (root only).
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ctl/commands.h"
#include "daemon/break_glass.h"
#include "daemon/config.h"
#include "daemon/control_wire.h"
#include "daemon/status_model.h"

namespace bulwark::ctl {
namespace {

struct DaemonArgs {
    std::string socket;  // empty: the settings' controlSocket
    std::string config = kDefaultSettings;
    bool json = false;

    // --socket, else controlSocket from the settings file (its default when
    // the file does not say or cannot be read: bulwarkd would not start
    // with it either).
    std::string control_socket() const {
        if (!socket.empty()) return socket;
        return load_config(config).config.control_socket;
    }
};

// The options every command that talks to bulwarkd has.
void add_daemon_options(CLI::App* sub, DaemonArgs& a, bool json) {
    sub->add_option("--socket", a.socket, "bulwarkd's control socket (default: controlSocket in the settings)");
    sub->add_option("--config", a.config, "bulwarkd's settings file, for controlSocket")->capture_default_str();
    if (json) sub->add_flag("--json", a.json, "print the daemon's answer as JSON");
}

// Asks bulwarkd; on failure says why and returns nullopt, with the exit
// code in *failure: exit_not_running (no answer) or exit_invalid (bulwarkd
// refused the request).
std::optional<nlohmann::json> ask(const DaemonArgs& a, const nlohmann::json& request, int timeout_ms,
                                  int* failure = nullptr) {
    const std::string socket = a.control_socket();
    auto r = control_request(socket, request, timeout_ms);
    if (failure) *failure = exit_not_running;
    if (!r) {
        const int err = r.error().err;
        if (err == ENOENT || err == ECONNREFUSED) {
            std::cerr << "bulwarkd is not running (no control socket at " << socket << ")\n";
            if (break_glass_this_boot()) std::cerr << break_glass_message() << "\n";
        }
        else if (err == EACCES || err == EPERM)
            std::cerr << "permission denied: only root may talk to bulwarkd (" << socket << ")\n";
        else
            std::cerr << "bulwarkctl: " << r.error().to_string() << "\n";
        return std::nullopt;
    }
    if (!r->value("ok", false) && r->contains("error")) {
        std::cerr << "bulwarkd: " << (*r)["error"].get<std::string>() << "\n";
        if (failure) *failure = exit_invalid;
        return std::nullopt;
    }
    return *r;
}

}  // namespace

Command add_status_command(CLI::App& app) {
    auto args = std::make_shared<DaemonArgs>();
    CLI::App* sub = app.add_subcommand("status", "show what bulwarkd enforces, its mode, events and last reload");
    add_daemon_options(sub, *args, true);
    auto rules = std::make_shared<bool>(false);
    sub->add_flag("--rules", *rules,
                  "show what each rule is bound to (its file at the load, its path now) and each scope's cgroups");
    return {sub, [args, rules] {
                if (*rules) {
                    auto j = ask(*args, {{"cmd", "rules"}}, 30000);
                    if (!j) return exit_not_running;
                    auto b = bindings_from_json(*j);
                    if (!b) {
                        std::cerr << "bulwarkctl: " << b.error().to_string() << "\n";
                        return exit_not_running;
                    }
                    std::cout << (args->json ? to_json(*b).dump(2) + "\n" : render_bindings_text(*b));
                    return exit_ok;
                }
                auto j = ask(*args, {{"cmd", "status"}}, 5000);
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

namespace {

// Prints bulwarkd's answer to a reload or an apply; its exit code.
int print_reload_answer(const DaemonArgs& a, const nlohmann::json& j) {
    if (a.json) std::cout << j.dump(2) << "\n";
    for (const auto& w : j.value("warnings", nlohmann::json::array())) std::cerr << w.get<std::string>() << "\n";
    for (const auto& e : j.value("errors", nlohmann::json::array())) std::cerr << e.get<std::string>() << "\n";
    if (!j.value("ok", false)) {
        std::cerr << "reload refused: the previous policy (generation " << j.value("generation", 0u)
                  << ") stays in force\n";
        return exit_invalid;
    }
    if (a.json) return exit_ok;
    std::cout << "reloaded: generation " << j["generation"] << " in force (" << j["duration_ms"].get<double>()
              << " ms)\n";
    if (j.contains("trial"))
        std::cout << "on trial: unless `bulwarkctl confirm` comes by " << j["trial"]["deadline"].get<std::string>()
                  << ", the policy of generation " << j["trial"]["fallback_generation"]
                  << " goes back in force\n";
    return exit_ok;
}

// "90", "90s", "2m", "1h" -> seconds; nullopt when it is none of those.
std::optional<uint64_t> parse_duration(const std::string& text) {
    size_t used = 0;
    uint64_t n = 0;
    try {
        n = std::stoull(text, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    const std::string unit = text.substr(used);
    if (unit.empty() || unit == "s") return n;
    if (unit == "m") return n * 60;
    if (unit == "h") return n * 3600;
    return std::nullopt;
}

}  // namespace

Command add_reload_command(CLI::App& app) {
    auto args = std::make_shared<DaemonArgs>();
    CLI::App* sub = app.add_subcommand(
        "reload", "make bulwarkd compile and switch to the policy directory; fails if the policy is invalid");
    add_daemon_options(sub, *args, true);
    return {sub, [args] {
                auto j = ask(*args, {{"cmd", "reload"}}, 120000);
                return j ? print_reload_answer(*args, *j) : exit_not_running;
            }};
}

Command add_apply_command(CLI::App& app) {
    auto args = std::make_shared<DaemonArgs>();
    auto within = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "apply", "reload on trial: unless `bulwarkctl confirm` comes within the time given, bulwarkd puts the "
                 "last confirmed policy back in force");
    sub->add_option("--confirm-within", *within, "how long the trial lasts: 90s, 2m, 1h (at most 24h)")
        ->required();
    add_daemon_options(sub, *args, true);
    return {sub, [args, within] {
                const auto secs = parse_duration(*within);
                if (!secs) {
                    std::cerr << "bulwarkctl: --confirm-within " << *within
                              << ": expected a number of seconds, or one with s, m or h (90s, 2m, 1h)\n";
                    return exit_usage;
                }
                int failure = exit_ok;
                auto j = ask(*args, {{"cmd", "apply"}, {"confirm_within_s", *secs}}, 120000, &failure);
                return j ? print_reload_answer(*args, *j) : failure;
            }};
}

Command add_confirm_command(CLI::App& app) {
    auto args = std::make_shared<DaemonArgs>();
    CLI::App* sub = app.add_subcommand("confirm", "keep the policy on trial (bulwarkctl apply) in force");
    add_daemon_options(sub, *args, false);
    return {sub, [args] {
                int failure = exit_ok;
                auto j = ask(*args, {{"cmd", "confirm"}}, 5000, &failure);
                if (!j) return failure;
                std::cout << "confirmed: generation " << (*j)["generation"] << " stays in force\n";
                return exit_ok;
            }};
}

}  // namespace bulwark::ctl
