// summary.cpp — the human summary of a compiled policy (bulwarkctl check).
//
// Deterministic: the output depends only on the CompiledPolicy, in rule order.
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

class Summary {
public:
    explicit Summary(const CompiledPolicy& c) : c_(c)
    {
        for (const auto& f : c_.files) {
            by_rule_.emplace(f.rule_id, &f);
            by_identity_.emplace(f.id, &f);
        }
        for (const auto& s : c_.scopes)
            scopes_.emplace(s.bit, &s);
        for (const auto& a : c_.allowlists)
            allowlists_.emplace(a.rule_id, &a);
    }

    std::string render()
    {
        std::size_t policies = 0;
        const std::string* current = nullptr;
        for (const auto& r : c_.rules) {
            if (current == nullptr || *current != r.policy) {
                current = &r.policy;
                ++policies;
                policy_header(r);
            }
            rule_line(r);
        }
        out_ += "total: " + plural(policies, "policy", "policies") + ", " + plural(c_.rules.size(), "rule", "rules") +
                ", " + plural(c_.files.size(), "file identity", "file identities") + " enforced, " +
                plural(c_.scopes.size(), "scope", "scopes") + ", " +
                plural(c_.allowlists.size(), "exec allowlist", "exec allowlists") + ", " +
                plural(not_found_, "path", "paths") + " not found\n";
        return std::move(out_);
    }

private:
    void policy_header(const CompiledRule& r)
    {
        out_ += "policy " + r.policy + " (" + std::string(to_string(r.mode)) + ")";
        if (!r.loc.file.empty())
            out_ += " from " + r.loc.file;
        out_ += "\n";
        if (r.scope == 0) {
            out_ += "  scope: whole host\n";
            return;
        }
        const auto it = scopes_.find(r.scope);
        if (it == scopes_.end()) {
            out_ += "  scope: bit " + std::to_string(r.scope) + " (not resolved)\n";
            return;
        }
        const CompiledScope& s = *it->second;
        out_ += "  scope: bit " + std::to_string(s.bit) + ", " + plural(s.cgroup_ids.size(), "cgroup", "cgroups") +
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
            ++not_found_;
            out_ += ": not found\n";
            return;
        }
        if (r.resolved_path != r.path)
            out_ += " -> " + show(r.resolved_path);
        out_ += ": " + show_identity(*r.identity);
        if (by_rule_.find(r.id) == by_rule_.end()) {
            const auto w = by_identity_.find(*r.identity);
            if (w != by_identity_.end())
                out_ += ", shadowed by rule " + std::to_string(w->second->rule_id);
            else
                out_ += ", not enforced (errors)";
        }
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
        out_ += "index " + std::to_string(a.index) + ", " + plural(a.files.size(), "file", "files") + " allowed";
        if (a.files.empty())
            out_ += " (every exec in scope is denied)";
        out_ += "\n";
        for (std::size_t i = 0; i < a.files.size(); ++i)
            out_ += "    " + show(a.paths[i]) + ": " + show_identity(a.files[i]) + "\n";
        for (const auto& m : a.missing) {
            ++not_found_;
            out_ += "    " + show(m) + ": not found\n";
        }
    }

    const CompiledPolicy& c_;
    std::multimap<uint32_t, const FileEntry*> by_rule_;
    std::map<FileIdentity, const FileEntry*> by_identity_;
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
