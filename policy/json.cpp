// json.cpp — the compiled policy as JSON (bulwarkctl check --json).
//
// Key names and their order are part of the interface (docs/policy.md,
// "JSON output"); add keys, never rename or remove them.
#include <nlohmann/json.hpp>

#include "policy/policy.h"

namespace bulwark::policy {
namespace {

using Json = nlohmann::ordered_json;

void add_location(Json& j, const Location& loc)
{
    j["file"] = loc.file;
    j["line"] = loc.line;
    j["column"] = loc.column;
}

Json identity(const FileIdentity& id)
{
    return Json{{"dev", format_kernel_dev(id.dev)}, {"kdev", id.dev}, {"ino", id.ino}};
}

template <class T>
Json optional_number(const std::optional<T>& v)
{
    return v ? Json(*v) : Json(nullptr);
}

std::string rule_status(const CompiledPolicy& c, const CompiledRule& r)
{
    if (r.kind == RuleKind::exec_allowlist) {
        for (const auto& a : c.allowlists)
            if (a.rule_id == r.id)
                return "enforced";
        return "not_enforced";
    }
    if (!r.identity) {
        if (r.bound_dir && r.not_enforced_reason.empty())
            for (const auto& n : c.names)
                if (n.rule_id == r.id)
                    return "bound_to_path";  // not there yet: a file that appears there takes the rule
        return "not_found";
    }
    if (r.shadowed_by)
        return "shadowed";
    for (const auto& f : c.files)
        if (f.rule_id == r.id)
            return "enforced";
    return "not_enforced";
}

}  // namespace

std::string to_json(const CompiledPolicy& c, const std::vector<Diagnostic>& diagnostics, int indent)
{
    Json out;
    std::size_t errors = 0;
    std::size_t warnings = 0;
    for (const auto& d : diagnostics)
        (d.severity == Severity::error ? errors : warnings) += 1;
    out["version"] = 1;
    out["valid"] = errors == 0;
    out["errors"] = errors;
    out["warnings"] = warnings;

    Json policies = Json::array();
    for (const auto& p : c.policies) {
        Json j{{"name", p.name}, {"mode", to_string(p.mode)}, {"scope", p.scope}};
        add_location(j, p.loc);
        Json ids = Json::array();
        for (const auto& r : c.rules)
            if (r.policy == p.name)
                ids.push_back(r.id);
        j["rules"] = std::move(ids);
        policies.push_back(std::move(j));
    }
    out["policies"] = std::move(policies);

    Json rules = Json::array();
    for (const auto& r : c.rules) {
        Json j{{"id", r.id},     {"policy", r.policy}, {"kind", to_string(r.kind)},
               {"mode", to_string(r.mode)}, {"scope", r.scope}, {"path", r.path}};
        add_location(j, r.loc);
        j["status"] = rule_status(c, r);
        if (r.kind == RuleKind::exec_allowlist) {
            Json index = nullptr;
            for (const auto& a : c.allowlists)
                if (a.rule_id == r.id)
                    index = a.index;
            j["allowlist"] = std::move(index);
        } else {
            j["resolved_path"] = r.identity ? Json(r.resolved_path) : Json(nullptr);
            j["identity"] = r.identity ? identity(*r.identity) : Json(nullptr);
            j["directory"] = r.directory;
            j["shadowed_by"] = optional_number(r.shadowed_by);
            j["outranked_by"] = optional_number(r.outranked_by);
            j["bound_to_path"] = r.bound_dir.has_value();
        }
        rules.push_back(std::move(j));
    }
    out["rules"] = std::move(rules);

    Json files = Json::array();
    for (const auto& f : c.files) {
        Json j = identity(f.id);
        j["path"] = f.path;
        j["directory"] = f.directory;
        j["kind"] = to_string(f.kind);
        j["mode"] = f.audit ? "audit" : "enforce";
        j["scope"] = f.scope;
        j["rule"] = f.rule_id;
        j["policy"] = f.rule_id < c.rules.size() ? Json(c.rules[f.rule_id].policy) : Json(nullptr);
        files.push_back(std::move(j));
    }
    out["files"] = std::move(files);

    Json paths = Json::array();
    for (const auto& n : c.names) {
        Json j = {{"directory", identity(n.dir)}, {"name", n.name}, {"path", n.path}, {"kind", to_string(n.kind)},
                  {"mode", n.audit ? "audit" : "enforce"}, {"scope", n.scope}, {"rule", n.rule_id}};
        j["policy"] = n.rule_id < c.rules.size() ? Json(c.rules[n.rule_id].policy) : Json(nullptr);
        paths.push_back(std::move(j));
    }
    out["paths"] = std::move(paths);

    Json scopes = Json::array();
    for (const auto& s : c.scopes) {
        Json cgroups = Json::array();
        for (std::size_t i = 0; i < s.cgroup_ids.size() && i < s.cgroup_paths.size(); ++i)
            cgroups.push_back(Json{{"id", s.cgroup_ids[i]}, {"path", s.cgroup_paths[i]}});
        scopes.push_back(Json{{"bit", s.bit},
                              {"policy", s.policy},
                              {"spec", Json{{"units", s.units}, {"cgroups", s.cgroups}}},
                              {"cgroups", std::move(cgroups)},
                              {"unresolved", s.unresolved}});
    }
    out["scopes"] = std::move(scopes);

    Json allowlists = Json::array();
    for (const auto& a : c.allowlists) {
        Json entries = Json::array();
        for (std::size_t i = 0; i < a.files.size() && i < a.paths.size(); ++i) {
            Json e = identity(a.files[i]);
            e["path"] = a.paths[i];
            e["directory"] = i < a.directories.size() && a.directories[i];
            entries.push_back(std::move(e));
        }
        allowlists.push_back(Json{{"index", a.index},
                                  {"rule", a.rule_id},
                                  {"policy", a.rule_id < c.rules.size() ? Json(c.rules[a.rule_id].policy) : Json(nullptr)},
                                  {"mode", a.audit ? "audit" : "enforce"},
                                  {"scope", a.scope},
                                  {"entries", std::move(entries)},
                                  {"missing", a.missing}});
    }
    out["allowlists"] = std::move(allowlists);

    Json overlaps = Json::array();
    for (const auto& o : c.allowlist_overlaps)
        overlaps.push_back(Json{{"first", o.first}, {"second", o.second}, {"reason", o.reason}});
    out["allowlist_overlaps"] = std::move(overlaps);

    Json diags = Json::array();
    for (const auto& d : diagnostics) {
        Json j{{"severity", d.severity == Severity::error ? "error" : "warning"}};
        add_location(j, d.loc);
        j["message"] = d.message;
        diags.push_back(std::move(j));
    }
    out["diagnostics"] = std::move(diags);

    return out.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace bulwark::policy
