// summary.cpp — the human summary of a compiled policy (bulwarkctl check).
//
// Deterministic: the output depends only on the CompiledPolicy, in rule order.
// Two parts: every policy with its rules as written and what they resolved
// to, then what is in force after precedence (one line per kernel map entry
// and per exec allowlist).
#include <algorithm>
#include <map>

#include "policy/policy.h"
#include "policy/text.h"

namespace bulwark::policy {
namespace {

// Paths are shown raw unless they would confuse the layout.
std::string show(const std::string& path)
{
    const bool plain = !path.empty() && std::none_of(path.begin(), path.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '"' || c == '\\';
    });
    return plain ? path : detail::quote(path);
}

std::string show_identity(const FileIdentity& id)
{
    return "dev " + format_kernel_dev(id.dev) + " ino " + std::to_string(id.ino);
}

std::string plural(std::size_t n, const char* one, const char* many)
{
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// A resolved directory as "/srv/secrets/" ("/" stays "/").
std::string show_dir(const std::string& resolved)
{
    return show(resolved.empty() || resolved.back() == '/' ? resolved : resolved + "/");
}

std::string trimmed(std::string path)
{
    while (path.size() > 1 && path.back() == '/')
        path.pop_back();
    return path;
}

std::string effect(RuleKind k)
{
    switch (k) {
    case RuleKind::protect_write: return "writes denied";
    case RuleKind::protect_all: return "every open denied";
    case RuleKind::kill_on_open: return "opener killed";
    case RuleKind::exec_allowlist: return "exec allowlist";
    }
    return "?";
}

class Summary {
public:
    explicit Summary(const CompiledPolicy& c) : c_(c)
    {
        for (const auto& f : c_.files)
            by_rule_.emplace(f.rule_id, &f);
        for (const auto& s : c_.scopes)
            scopes_.emplace(s.bit, &s);
        for (const auto& a : c_.allowlists)
            allowlists_.emplace(a.rule_id, &a);
    }

    std::string render()
    {
        std::size_t next = 0;  // rules are in policy order
        for (const auto& p : c_.policies) {
            policy_header(p);
            for (; next < c_.rules.size() && c_.rules[next].policy == p.name; ++next)
                rule_line(c_.rules[next]);
        }
        for (; next < c_.rules.size(); ++next)
            rule_line(c_.rules[next]);
        in_force();
        out_ += "total: " + plural(c_.policies.size(), "policy", "policies") + ", " +
                plural(c_.rules.size(), "rule", "rules") + ", " +
                plural(c_.files.size(), "file identity", "file identities") + " and " +
                plural(c_.names.size(), "path", "paths") + " enforced, " +
                plural(c_.scopes.size(), "scope", "scopes") + ", " +
                plural(c_.allowlists.size(), "exec allowlist", "exec allowlists") + ", " +
                plural(not_found_, "path", "paths") + " not found\n";
        if (!c_.files.empty())
            out_ += "not covered: raw block-device access: whoever may open the device under a filesystem (root) "
                    "reads and writes its bytes without opening the file (docs/policy.md, \"Out of a file policy's "
                    "reach\")\n";
        return std::move(out_);
    }

private:
    std::string policy_of_scope(uint32_t bit) const
    {
        const auto it = scopes_.find(bit);
        return it == scopes_.end() ? "bit " + std::to_string(bit) : it->second->policy;
    }

    std::string scope_text(uint32_t bit) const
    {
        return bit == 0 ? "whole host" : "scope of policy " + policy_of_scope(bit);
    }

    void policy_header(const CompiledPolicyInfo& p)
    {
        out_ += "policy " + p.name + " (" + std::string(to_string(p.mode)) + ")";
        if (!p.loc.file.empty())
            out_ += " from " + p.loc.file;
        out_ += "\n";
        if (p.scope == 0) {
            out_ += "  scope: whole host\n";
            return;
        }
        const auto it = scopes_.find(p.scope);
        if (it == scopes_.end()) {
            out_ += "  scope: bit " + std::to_string(p.scope) + " (not resolved)\n";
            return;
        }
        const CompiledScope& s = *it->second;
        std::string written;
        for (const auto* list : {&s.units, &s.cgroups})
            for (const auto& w : *list)
                written += (written.empty() ? "" : ", ") + show(w);
        out_ += "  scope: bit " + std::to_string(s.bit) + (written.empty() ? "" : " (" + written + ")") + ", " +
                plural(s.cgroup_ids.size(), "cgroup", "cgroups") +
                (s.cgroup_ids.empty() ? " (applies to no process until a reload finds one)" : "") + "\n";
        for (std::size_t i = 0; i < s.cgroup_ids.size(); ++i)
            out_ += "    cgroup " + show(s.cgroup_paths[i]) + " id " + std::to_string(s.cgroup_ids[i]) + "\n";
        for (const auto& u : s.unresolved)
            out_ += "    " + u + " not found\n";
    }

    void rule_line(const CompiledRule& r)
    {
        out_ += "  rule " + std::to_string(r.id) + " " + std::string(to_string(r.kind)) + " ";
        if (r.kind == RuleKind::exec_allowlist) {
            allowlist_lines(r);
            return;
        }
        out_ += show(r.path);
        if (!r.identity) {
            if (r.bound_dir) {
                out_ += ": not there yet, bound to its path (a file that appears there takes the rule)\n";
                return;
            }
            ++not_found_;
            out_ += ": not found\n";
            return;
        }
        if (r.resolved_path != trimmed(r.path))
            out_ += " -> " + show(r.resolved_path);
        out_ += ": " + std::string(r.directory ? "directory and everything below it, " : "") + show_identity(*r.identity);
        if (!r.not_enforced_reason.empty())
            out_ += ", NOT enforced (" + r.not_enforced_reason + ")";
        else if (r.shadowed_by)
            out_ += ", shadowed by rule " + std::to_string(*r.shadowed_by);
        else if (by_rule_.find(r.id) == by_rule_.end())
            out_ += ", not enforced (errors)";
        if (r.outranked_by)
            out_ += ", outranked at run time by directory rule " + std::to_string(*r.outranked_by);
        out_ += "\n";
    }

    void allowlist_lines(const CompiledRule& r)
    {
        const auto it = allowlists_.find(r.id);
        if (it == allowlists_.end()) {
            out_ += "(not enforced: errors)\n";
            return;
        }
        const CompiledAllowlist& a = *it->second;
        out_ += "index " + std::to_string(a.index) + ", " + plural(a.files.size(), "entry", "entries") + " allowed";
        if (a.files.empty())
            out_ += " (every exec in scope is denied)";
        out_ += "\n";
        for (std::size_t i = 0; i < a.files.size(); ++i) {
            const bool dir = i < a.directories.size() && a.directories[i];
            out_ += "    " + (dir ? show_dir(a.paths[i]) + " and everything below it" : show(a.paths[i])) + ": " +
                    show_identity(a.files[i]) + "\n";
        }
        for (const auto& m : a.missing) {
            ++not_found_;
            out_ += "    " + show(m) + ": not found\n";
        }
    }

    // What the kernel gets: one line per file map entry, one per allowlist.
    void in_force()
    {
        out_ += "in force (after precedence):\n";
        if (c_.files.empty() && c_.allowlists.empty())
            out_ += "  nothing\n";
        for (const auto& f : c_.files) {
            const CompiledRule* r = f.rule_id < c_.rules.size() ? &c_.rules[f.rule_id] : nullptr;
            out_ += "  " + (f.directory ? show_dir(f.path) + " and everything below it" : show(f.path)) + ": " +
                    effect(f.kind) + " (" + (f.audit ? "audit" : "enforce") + ", " + scope_text(f.scope) + "; rule " +
                    std::to_string(f.rule_id) + (r != nullptr ? ", policy " + r->policy : "") + ")\n";
        }
        for (const auto& a : c_.allowlists) {
            const CompiledRule* r = a.rule_id < c_.rules.size() ? &c_.rules[a.rule_id] : nullptr;
            out_ += "  exec allowlist " + std::to_string(a.index) + ": " +
                    plural(a.files.size(), "entry", "entries") + " (" + (a.audit ? "audit" : "enforce") + ", " +
                    scope_text(a.scope) + "; rule " + std::to_string(a.rule_id) +
                    (r != nullptr ? ", policy " + r->policy : "") + ")\n";
        }
        if (c_.allowlists.size() > 1)
            out_ += "  a process must pass every exec allowlist whose scope holds it\n";
        for (const auto& o : c_.allowlist_overlaps)
            out_ += "  note: exec allowlists " + std::to_string(o.first) + " and " + std::to_string(o.second) +
                    " can hold the same process (" + o.reason + "); it may only execute what both allow\n";
    }

    const CompiledPolicy& c_;
    std::multimap<uint32_t, const FileEntry*> by_rule_;
    std::map<uint32_t, const CompiledScope*> scopes_;
    std::map<uint32_t, const CompiledAllowlist*> allowlists_;
    std::size_t not_found_ = 0;
    std::string out_;
};

}  // namespace

std::string summarize(const CompiledPolicy& compiled)
{
    return Summary(compiled).render();
}

}  // namespace bulwark::policy
