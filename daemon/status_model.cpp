#include "daemon/status_model.h"

#include <sstream>

namespace bulwark {
namespace {

nlohmann::json counts_json(const RuleCounts& c) {
    return {{"protectedFiles", c.protected_files}, {"killOnOpen", c.kill_on_open}, {"execAllowlist", c.exec_allowlist}};
}
RuleCounts counts_from(const nlohmann::json& j) {
    return {j.at("protectedFiles").get<int>(), j.at("killOnOpen").get<int>(), j.at("execAllowlist").get<int>()};
}

std::string counts_text(const RuleCounts& c) {
    std::string s;
    for (auto [n, k] : {std::pair{c.protected_files, "protectedFiles"}, std::pair{c.kill_on_open, "killOnOpen"},
                        std::pair{c.exec_allowlist, "execAllowlist"}}) {
        if (n == 0) continue;
        if (!s.empty()) s += ", ";
        s += std::to_string(n) + " " + k;
    }
    return s.empty() ? "no rules" : s;
}

}  // namespace

uint64_t KernelGaps::total() const {
    uint64_t n = kill_failed + walk_truncated + bad_state + no_policy + scope_bind_failed;
    for (const auto& [p, v] : recursion_misses) n += v;
    return n;
}

nlohmann::json to_json(const DaemonStatus& s) {
    nlohmann::json j;
    j["ok"] = true;
    j["running"] = true;
    j["pid"] = s.pid;
    j["version"] = s.version;
    j["mode"] = s.mode;
    j["attached"] = s.attached;
    j["limitations"] = nlohmann::json::object();
    for (const auto& [k, v] : s.limitations) j["limitations"][k] = v;
    j["started_at"] = s.started_at;
    j["policy_dir"] = s.policy_dir;
    j["audit_log"] = s.audit_log;
    j["journal"] = s.journal;
    j["generation"] = s.generation;
    j["loaded_at"] = s.loaded_at;
    j["rules"] = counts_json(s.rules);
    j["map_entries"] = {{"files", s.file_entries}, {"exec", s.exec_entries}, {"scope_cgroups", s.scope_cgroups}};
    j["policies"] = nlohmann::json::array();
    for (const auto& p : s.policies) {
        nlohmann::json pj = {{"name", p.name}, {"mode", p.mode}, {"rules", counts_json(p.rules)}};
        if (p.cgroups)
            pj["scope"] = {{"cgroups", *p.cgroups}};
        else
            pj["scope"] = "whole host";
        j["policies"].push_back(pj);
    }
    const auto& e = s.events;
    j["events"] = {{"delivered", e.delivered},   {"verdicts", e.verdicts},     {"lost_kernel", e.lost_kernel},
                   {"lost_queue", e.lost_queue}, {"malformed", e.malformed},   {"lost_write", e.lost_write},
                   {"unattributed", e.unattributed}};
    const auto& k = s.kernel;
    j["kernel"] = {{"kill_failed", k.kill_failed},
                   {"walk_truncated", k.walk_truncated},
                   {"bad_state", k.bad_state},
                   {"no_policy", k.no_policy},
                   {"scope_bind_failed", k.scope_bind_failed},
                   {"recursion_misses", k.recursion_misses}};
    const auto& p = s.persistence;
    j["persistence"] = {{"pinned", p.pinned},
                        {"pin_dir", p.pin_dir},
                        {"unavailable", p.unavailable.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.unavailable)},
                        {"adopted_generation", p.adopted_generation ? nlohmann::json(*p.adopted_generation)
                                                                    : nlohmann::json(nullptr)}};
    const auto& in = s.integrity;
    j["integrity"] = {{"state", in.tampered ? "TAMPERED" : "intact"},
                      {"detected_at", in.detected_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(in.detected_at)},
                      {"detail", in.detail.empty() ? nlohmann::json(nullptr) : nlohmann::json(in.detail)},
                      {"restored_generation", in.restored_generation ? nlohmann::json(in.restored_generation)
                                                                     : nlohmann::json(nullptr)},
                      {"self_protection", in.self_protection}};
    if (s.last_reload) {
        const auto& r = *s.last_reload;
        j["last_reload"] = {{"ok", r.ok},
                            {"time", r.time},
                            {"duration_ms", r.duration_ms},
                            {"phases_ms", {{"parse", r.parse_ms}, {"compile", r.compile_ms}, {"maps", r.maps_ms}}},
                            {"generation", r.generation},
                            {"errors", r.errors},
                            {"warnings", r.warnings}};
    } else {
        j["last_reload"] = nullptr;
    }
    if (s.trial)
        j["trial"] = {{"generation", s.trial->generation},
                      {"fallback_generation", s.trial->fallback_generation},
                      {"deadline", s.trial->deadline}};
    else
        j["trial"] = nullptr;
    return j;
}

Result<DaemonStatus> status_from_json(const nlohmann::json& j) {
    try {
        DaemonStatus s;
        s.pid = j.at("pid").get<int64_t>();
        s.version = j.at("version").get<std::string>();
        s.mode = j.at("mode").get<std::string>();
        s.attached = j.at("attached").get<std::vector<std::string>>();
        s.limitations = j.at("limitations").get<std::map<std::string, std::string>>();
        s.started_at = j.at("started_at").get<std::string>();
        s.policy_dir = j.at("policy_dir").get<std::string>();
        s.audit_log = j.at("audit_log").get<std::string>();
        s.journal = j.at("journal").get<bool>();
        s.generation = j.at("generation").get<uint32_t>();
        s.loaded_at = j.at("loaded_at").get<std::string>();
        s.rules = counts_from(j.at("rules"));
        const auto& m = j.at("map_entries");
        s.file_entries = m.at("files").get<uint64_t>();
        s.exec_entries = m.at("exec").get<uint64_t>();
        s.scope_cgroups = m.at("scope_cgroups").get<uint64_t>();
        for (const auto& pj : j.at("policies")) {
            PolicyStatus p;
            p.name = pj.at("name").get<std::string>();
            p.mode = pj.at("mode").get<std::string>();
            p.rules = counts_from(pj.at("rules"));
            if (pj.at("scope").is_object()) p.cgroups = pj.at("scope").at("cgroups").get<std::vector<std::string>>();
            s.policies.push_back(std::move(p));
        }
        const auto& e = j.at("events");
        s.events = {e.at("delivered").get<uint64_t>(),   e.at("verdicts").get<uint64_t>(),
                    e.at("lost_kernel").get<uint64_t>(), e.at("lost_queue").get<uint64_t>(),
                    e.at("malformed").get<uint64_t>(),   e.at("lost_write").get<uint64_t>(),
                    e.at("unattributed").get<uint64_t>()};
        const auto& k = j.at("kernel");
        s.kernel.kill_failed = k.at("kill_failed").get<uint64_t>();
        s.kernel.walk_truncated = k.at("walk_truncated").get<uint64_t>();
        s.kernel.bad_state = k.at("bad_state").get<uint64_t>();
        s.kernel.no_policy = k.at("no_policy").get<uint64_t>();
        s.kernel.scope_bind_failed = k.value("scope_bind_failed", uint64_t{0});
        s.kernel.recursion_misses = k.at("recursion_misses").get<std::map<std::string, uint64_t>>();
        const auto& p = j.at("persistence");
        s.persistence.pinned = p.at("pinned").get<bool>();
        s.persistence.pin_dir = p.at("pin_dir").get<std::string>();
        if (!p.at("unavailable").is_null()) s.persistence.unavailable = p.at("unavailable").get<std::string>();
        if (!p.at("adopted_generation").is_null())
            s.persistence.adopted_generation = p.at("adopted_generation").get<uint32_t>();
        const auto& in = j.at("integrity");
        const std::string state = in.at("state").get<std::string>();
        if (state != "intact" && state != "TAMPERED")
            return Error{"malformed status from bulwarkd: integrity state \"" + state + "\"", EBADMSG};
        s.integrity.tampered = state == "TAMPERED";
        if (!in.at("detected_at").is_null()) s.integrity.detected_at = in.at("detected_at").get<std::string>();
        if (!in.at("detail").is_null()) s.integrity.detail = in.at("detail").get<std::string>();
        if (!in.at("restored_generation").is_null())
            s.integrity.restored_generation = in.at("restored_generation").get<uint32_t>();
        s.integrity.self_protection = in.at("self_protection").get<std::string>();
        if (s.integrity.self_protection != "kernel" && s.integrity.self_protection != "off" &&
            s.integrity.self_protection != "unavailable")
            return Error{"malformed status from bulwarkd: self_protection \"" + s.integrity.self_protection + "\"",
                         EBADMSG};
        if (!j.at("last_reload").is_null()) {
            const auto& r = j.at("last_reload");
            ReloadStatus rs;
            rs.ok = r.at("ok").get<bool>();
            rs.time = r.at("time").get<std::string>();
            rs.duration_ms = r.at("duration_ms").get<double>();
            rs.parse_ms = r.at("phases_ms").at("parse").get<double>();
            rs.compile_ms = r.at("phases_ms").at("compile").get<double>();
            rs.maps_ms = r.at("phases_ms").at("maps").get<double>();
            rs.generation = r.at("generation").get<uint32_t>();
            rs.errors = r.at("errors").get<std::vector<std::string>>();
            rs.warnings = r.at("warnings").get<std::vector<std::string>>();
            s.last_reload = std::move(rs);
        }
        if (j.contains("trial") && !j.at("trial").is_null()) {  // bulwarkd before trials had none
            const auto& t = j.at("trial");
            s.trial = TrialStatus{t.at("generation").get<uint32_t>(), t.at("fallback_generation").get<uint32_t>(),
                                  t.at("deadline").get<std::string>()};
        }
        return s;
    } catch (const nlohmann::json::exception& ex) {
        return Error{std::string("malformed status from bulwarkd: ") + ex.what(), EBADMSG};
    }
}

std::string render_status_text(const DaemonStatus& s) {
    std::ostringstream o;
    o << "bulwarkd: running (pid " << s.pid << ", version " << s.version << ", since " << s.started_at << ")\n";
    if (s.integrity.tampered)
        o << "integrity: TAMPERED: the kernel's bulwark maps or links were changed behind bulwarkd's back (last at "
          << s.integrity.detected_at << ": " << s.integrity.detail << "); restored as generation "
          << s.integrity.restored_generation << "\n";
    else
        o << "integrity: intact (the kernel holds what bulwarkd wrote)\n";
    if (s.integrity.self_protection == "kernel")
        o << "self-protection: the kernel refuses bpf() on bulwark's objects, removing its pins, signals and ptrace "
             "to bulwarkd to every other process\n";
    else
        o << "self-protection: "
          << (s.integrity.self_protection == "off" ? "off (selfProtection: false)" : "not available in this mode")
          << ": root can change bulwark's maps and links and signal bulwarkd; changes are found and restored "
             "within 5 s\n";
    o << "mode: " << s.mode << "\n";
    if (!s.limitations.empty()) {
        o << "limitations of " << s.mode << " mode:\n";
        for (const auto& [kind, text] : s.limitations) o << "  " << kind << ": " << text << "\n";
    }
    o << "policy: generation " << s.generation << ", loaded " << s.loaded_at << " from " << s.policy_dir << "\n";
    o << "rules: " << counts_text(s.rules) << " (map entries: " << s.file_entries << " files, " << s.exec_entries
      << " exec, " << s.scope_cgroups << " scope cgroups)\n";
    o << "policies:\n";
    for (const auto& p : s.policies) {
        std::string scope = "whole host";
        if (p.cgroups) {
            scope = "cgroups";
            for (const auto& c : *p.cgroups) scope += " " + c;
            if (p.cgroups->empty()) scope = "scope matches no cgroup now";
        }
        o << "  " << p.name << " (" << p.mode << ", " << scope << "): " << counts_text(p.rules) << "\n";
    }
    const auto& e = s.events;
    o << "events: " << e.delivered << " delivered, " << e.verdicts << " verdicts; lost: " << e.lost_kernel
      << " in the ring buffer, " << e.lost_queue << " in the queue, " << e.lost_write << " on audit log writes; "
      << e.malformed << " malformed";
    if (e.unattributed) o << "; " << e.unattributed << " of an unknown generation";
    o << "\n";
    const auto& k = s.kernel;
    uint64_t rec = 0;
    std::string progs;
    for (const auto& [name, n] : k.recursion_misses) {
        rec += n;
        if (n) progs += (progs.empty() ? " (" : ", ") + name + " " + std::to_string(n);
    }
    if (!progs.empty()) progs += ")";
    o << "not enforced by the kernel: " << k.kill_failed << " kills failed, " << rec
      << " program runs skipped (recursion)" << progs << ", " << k.walk_truncated << " ancestor walks truncated, "
      << k.bad_state << " decisions on an invalid policy state, " << k.no_policy << " with no policy, " << k.scope_bind_failed
      << " new unit cgroups left out of their scope\n";
    const auto& p = s.persistence;
    if (p.pinned)
        o << "persistence: pinned in " << p.pin_dir << " (enforcement stays when bulwarkd stops for a restart, an "
             "upgrade or a crash)";
    else
        o << "persistence: NONE, enforcement ends with bulwarkd (" << p.unavailable << ")";
    if (p.adopted_generation) o << "; took over generation " << *p.adopted_generation << " at start";
    o << "\n";
    if (!s.last_reload) {
        o << "last reload: none since start\n";
    } else {
        const auto& r = *s.last_reload;
        o << "last reload: " << (r.ok ? "ok" : "REFUSED") << " at " << r.time << " (" << r.duration_ms
          << " ms), generation " << r.generation << " in force\n";
        for (const auto& err : r.errors) o << "  " << err << "\n";
    }
    if (s.trial)
        o << "trial: generation " << s.trial->generation << " is on trial; the policy of generation "
          << s.trial->fallback_generation << " goes back in force at " << s.trial->deadline
          << " unless `bulwarkctl confirm` comes first\n";
    o << "audit log: " << s.audit_log << "\n";
    return o.str();
}

nlohmann::json to_json(const BindingsStatus& b) {
    nlohmann::json rules = nlohmann::json::array(), scopes = nlohmann::json::array();
    for (const auto& r : b.rules)
        rules.push_back({{"id", r.id}, {"policy", r.policy}, {"kind", r.kind}, {"path", r.path},
                         {"resolved", r.resolved}, {"loaded", r.loaded}, {"now", r.now}, {"directory", r.directory},
                         {"bound_to_path", r.bound_to_path}, {"state", r.state}});
    for (const auto& sc : b.scopes)
        scopes.push_back({{"policy", sc.policy}, {"units", sc.units}, {"cgroups", sc.cgroups},
                          {"resolved", sc.resolved}, {"unresolved", sc.unresolved}});
    return {{"generation", b.generation}, {"bound_at", b.bound_at}, {"rules", rules}, {"scopes", scopes}};
}

Result<BindingsStatus> bindings_from_json(const nlohmann::json& j) {
    try {
        BindingsStatus b;
        b.generation = j.at("generation").get<uint32_t>();
        b.bound_at = j.at("bound_at").get<std::string>();
        for (const auto& r : j.at("rules"))
            b.rules.push_back({r.at("id").get<uint32_t>(), r.at("policy").get<std::string>(),
                               r.at("kind").get<std::string>(), r.at("path").get<std::string>(),
                               r.at("resolved").get<std::string>(), r.at("loaded").get<std::string>(),
                               r.at("now").get<std::string>(), r.at("directory").get<bool>(),
                               r.at("bound_to_path").get<bool>(), r.at("state").get<std::string>()});
        for (const auto& sc : j.at("scopes"))
            b.scopes.push_back({sc.at("policy").get<std::string>(), sc.at("units").get<std::vector<std::string>>(),
                                sc.at("cgroups").get<std::vector<std::string>>(),
                                sc.at("resolved").get<std::vector<std::string>>(),
                                sc.at("unresolved").get<std::vector<std::string>>()});
        return b;
    } catch (const nlohmann::json::exception& e) {
        return Error{std::string("bulwarkd's rule bindings answer: ") + e.what(), EPROTO};
    }
}

std::string render_bindings_text(const BindingsStatus& b) {
    std::ostringstream o;
    o << "generation " << b.generation << ", every rule bound at " << b.bound_at << "\n";
    o << "rules:\n";
    for (const auto& r : b.rules) {
        o << "  rule " << r.id << " " << r.kind << " " << r.path << " (policy " << r.policy << "): ";
        o << "loaded " << (r.loaded.empty() ? "nothing" : r.loaded) << ", now "
          << (r.now.empty() ? "nothing" : r.now) << (r.bound_to_path ? ", bound to its path" : "") << ": "
          << r.state << "\n";
    }
    if (b.rules.empty()) o << "  none\n";
    o << "scopes:\n";
    for (const auto& sc : b.scopes) {
        o << "  policy " << sc.policy << ":";
        for (const auto& u : sc.units) o << " unit " << u;
        for (const auto& c : sc.cgroups) o << " cgroup " << c;
        o << "; at the load: " << sc.resolved.size() << " cgroup" << (sc.resolved.size() == 1 ? "" : "s");
        for (const auto& u : sc.unresolved) o << "; " << u << " matched nothing";
        if (!sc.units.empty()) o << "; its units' cgroups created since are bound as they appear";
        o << "\n";
    }
    if (b.scopes.empty()) o << "  none\n";
    return o.str();
}

}  // namespace bulwark
