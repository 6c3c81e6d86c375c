// compiler.cpp — Policy list -> CompiledPolicy: rule ids, scope bits,
// allowlist indexes, paths resolved to file identities, precedence.
//
// The compiler never claims more than the kernel side will enforce: what it
// cannot enforce (directory rules, non-regular executables) is an error, what
// is not enforced right now (missing paths, units not running, shadowed
// rules) is a warning that says so.
#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include <sys/stat.h>

#include "policy/cgroups.h"
#include "policy/identity.h"
#include "policy/limits.h"
#include "policy/policy.h"
#include "policy/text.h"

namespace bulwark::policy {
namespace {

using detail::quote;
using detail::Resolved;

int strength(RuleKind k)
{
    switch (k) {
    case RuleKind::protect_write: return 1;
    case RuleKind::protect_all: return 2;
    case RuleKind::kill_on_open: return 3;
    case RuleKind::exec_allowlist: return 0;
    }
    return 0;
}

// A file rule that resolved to an identity, competing for its FileEntry.
struct Candidate {
    FileIdentity id;
    uint32_t rule_id = 0;
    RuleKind kind = RuleKind::protect_all;
    uint32_t scope = 0;
    bool audit = false;
};

// Precedence: stronger action, then unscoped, then enforce, then lower id.
bool beats(const Candidate& a, const Candidate& b)
{
    if (strength(a.kind) != strength(b.kind))
        return strength(a.kind) > strength(b.kind);
    if ((a.scope == 0) != (b.scope == 0))
        return a.scope == 0;
    if (a.audit != b.audit)
        return !a.audit;
    return a.rule_id < b.rule_id;
}

class Compiler {
public:
    explicit Compiler(const CompileOptions& opts) : opts_(opts) {}

    CompiledPolicy run(const std::vector<Policy>& policies)
    {
        for (const auto& p : policies)
            compile_policy(p);
        apply_precedence();
        return std::move(out_);
    }

private:
    void error(const Location& loc, std::string msg)
    {
        out_.diagnostics.push_back(Diagnostic{Severity::error, loc, std::move(msg)});
    }
    void warning(const Location& loc, std::string msg)
    {
        out_.diagnostics.push_back(Diagnostic{Severity::warning, loc, std::move(msg)});
    }

    CompiledRule& add_rule(const Policy& p, RuleKind kind, const std::string& path, const Location& loc,
                           uint32_t scope)
    {
        CompiledRule r;
        r.id = static_cast<uint32_t>(out_.rules.size());
        r.kind = kind;
        r.policy = p.name;
        r.mode = p.mode;
        r.path = path;
        r.loc = loc;
        r.scope = scope;
        out_.rules.push_back(std::move(r));
        return out_.rules.back();
    }

    // The checks the parser makes too; repeated here because a Policy can be
    // built in code and the compiler must never stat() a relative path or
    // pretend to enforce a directory rule.
    bool acceptable_path(const std::string& path, bool recursive, const Location& loc)
    {
        if (path.empty() || path[0] != '/') {
            error(loc, "path " + quote(path) + " is not absolute");
            return false;
        }
        if (path.find('\0') != std::string::npos) {
            error(loc, "path " + quote(path) + " contains a NUL byte");
            return false;
        }
        if (recursive || path.back() == '/') {
            error(loc, "directory rules are not supported yet: " + quote(path) + (recursive ? " (recursive: true)" : ""));
            return false;
        }
        return true;
    }

    // ------------------------------------------------------------ policies

    void compile_policy(const Policy& p)
    {
        const bool audit = p.mode == PolicyMode::audit;
        uint32_t scope = 0;
        bool usable = true;  // false: errors make this policy's rules unplaceable
        if (p.scope) {
            if (next_scope_ > limits::max_scopes) {
                error(p.scope->loc, "too many scoped policies: at most " + std::to_string(limits::max_scopes) +
                                        " policies can have a scope (policy " + quote(p.name) + " is one more)");
                usable = false;
            } else {
                scope = next_scope_++;
                resolve_scope(p, scope);
            }
        }
        if (p.protected_files.empty() && p.kill_on_open.empty() && !p.exec_allowlist)
            error(p.loc, "policy " + quote(p.name) + " has no rules");

        for (const auto& pf : p.protected_files) {
            const RuleKind kind = pf.deny == DenyKind::write ? RuleKind::protect_write : RuleKind::protect_all;
            const uint32_t id = add_rule(p, kind, pf.path, pf.loc, scope).id;
            if (acceptable_path(pf.path, pf.recursive, pf.loc))
                resolve_file_rule(id, usable, audit);
        }
        for (const auto& k : p.kill_on_open) {
            const uint32_t id = add_rule(p, RuleKind::kill_on_open, k.path, k.loc, scope).id;
            if (acceptable_path(k.path, false, k.loc))
                resolve_file_rule(id, usable, audit);
        }
        if (p.exec_allowlist)
            compile_allowlist(p, *p.exec_allowlist, scope, usable, audit);
    }

    // ---------------------------------------------------------------- files

    void resolve_file_rule(uint32_t rule_id, bool usable, bool audit)
    {
        CompiledRule& rule = out_.rules[rule_id];
        const Resolved r = detail::resolve_path(rule.path);
        switch (r.status) {
        case Resolved::Status::missing:
            if (r.symlink)
                warning(rule.loc, "path " + quote(rule.path) + " is a symlink to " + quote(r.link_target) +
                                      ", which does not exist; rule not enforced until it does (re-resolved at reload)");
            else
                warning(rule.loc, "path " + quote(rule.path) +
                                      " does not exist; rule not enforced until it does (re-resolved at reload)");
            return;
        case Resolved::Status::failed:
            error(rule.loc, "cannot resolve path " + quote(rule.path) + ": " + std::strerror(r.err));
            return;
        case Resolved::Status::ok:
            break;
        }
        if (S_ISDIR(r.mode)) {
            error(rule.loc, "directory rules are not supported yet: " + quote(rule.path));
            return;
        }
        if (r.symlink)
            warning(rule.loc, "path " + quote(rule.path) + " is a symlink; the rule is enforced on its target " +
                                  quote(r.resolved));
        rule.identity = r.id;
        rule.resolved_path = r.resolved;
        if (usable)
            candidates_.push_back(Candidate{r.id, rule.id, rule.kind, rule.scope, audit});
    }

    // ----------------------------------------------------------- allowlists

    void compile_allowlist(const Policy& p, const std::vector<ExecEntry>& entries, uint32_t scope, bool usable,
                           bool audit)
    {
        if (entries.empty()) {
            CompiledRule& rule = add_rule(p, RuleKind::exec_allowlist, "", p.loc, scope);
            error(rule.loc, "execAllowlist is empty; an empty allowlist would deny every exec (remove the key to allow all)");
            return;
        }
        const uint32_t rule_id = add_rule(p, RuleKind::exec_allowlist, entries.front().path, entries.front().loc, scope).id;
        const Location rule_loc = out_.rules[rule_id].loc;

        CompiledAllowlist al;
        if (next_allowlist_ >= limits::max_allowlists) {
            error(rule_loc, "too many exec allowlists: at most " + std::to_string(limits::max_allowlists) +
                                " policies can have execAllowlist (policy " + quote(p.name) + " is one more)");
            usable = false;
        } else {
            al.index = next_allowlist_++;
        }
        al.rule_id = rule_id;
        al.scope = scope;
        al.audit = audit;

        bool entry_errors = false;
        for (const auto& e : entries) {
            if (!acceptable_path(e.path, false, e.loc)) {
                entry_errors = true;
                continue;
            }
            const Resolved r = detail::resolve_path(e.path);
            if (r.status == Resolved::Status::missing) {
                warning(e.loc, "path " + quote(e.path) +
                                   " does not exist; left out of the allowlist until it does (re-resolved at reload)");
                al.missing.push_back(e.path);
                continue;
            }
            if (r.status == Resolved::Status::failed) {
                error(e.loc, "cannot resolve path " + quote(e.path) + ": " + std::strerror(r.err));
                entry_errors = true;
                continue;
            }
            if (S_ISDIR(r.mode)) {
                error(e.loc, "directory rules are not supported yet: " + quote(e.path));
                entry_errors = true;
                continue;
            }
            if (!S_ISREG(r.mode)) {
                error(e.loc, "path " + quote(e.path) + " is not a regular file; only regular files can be executed");
                entry_errors = true;
                continue;
            }
            if (r.symlink)
                warning(e.loc, "path " + quote(e.path) + " is a symlink; the allowlist allows its target " +
                                   quote(r.resolved));
            if (std::find(al.files.begin(), al.files.end(), r.id) != al.files.end())
                continue;  // the same file twice (hardlink, symlink): listed once
            al.files.push_back(r.id);
            al.paths.push_back(r.resolved);
            al.directories.push_back(false);  // directory entries are refused in this version
        }
        if (al.files.empty() && !entry_errors)
            warning(rule_loc, "none of the execAllowlist entries of policy " + quote(p.name) +
                                  " exist; the allowlist is still in force and denies every exec " +
                                  (scope == 0 ? std::string("on the whole host") : std::string("in its scope")));
        if (usable)
            out_.allowlists.push_back(std::move(al));
    }

    // --------------------------------------------------------------- scopes

    const std::string& cgroup_root()
    {
        if (!cgroup_root_)
            cgroup_root_ = opts_.cgroup2_root.empty() ? detail::find_cgroup2_mount() : opts_.cgroup2_root;
        return *cgroup_root_;
    }

    const detail::CgroupTree& cgroup_tree()
    {
        if (!cgroup_tree_)
            cgroup_tree_.emplace(cgroup_root());
        return *cgroup_tree_;
    }

    void resolve_scope(const Policy& p, uint32_t bit)
    {
        const Scope& s = *p.scope;
        CompiledScope cs;
        cs.bit = bit;
        cs.policy = p.name;
        auto add = [&cs](uint64_t id, const std::string& path) {
            if (std::find(cs.cgroup_ids.begin(), cs.cgroup_ids.end(), id) != cs.cgroup_ids.end())
                return;
            cs.cgroup_ids.push_back(id);
            cs.cgroup_paths.push_back(path);
        };

        for (const auto& unit : s.units) {
            const std::string& root = cgroup_root();
            if (root.empty()) {
                warning(s.loc, "unit " + quote(unit) +
                                   " cannot be resolved: no cgroup2 filesystem is mounted; scope resolved again at the next reload");
                cs.unresolved.push_back("unit " + unit);
                continue;
            }
            bool found = false;
            // Below an explicitly configured root the filesystem type is not
            // checked (lets tests use a plain directory tree).
            const bool require_cgroup2 = opts_.cgroup2_root.empty();
            for (const auto& dir : cgroup_tree().find(unit)) {
                const auto d = detail::check_cgroup_dir(dir, require_cgroup2);
                if (d.status == detail::CgroupDir::Status::ok) {
                    add(d.id, dir);
                    found = true;
                }
            }
            if (!found) {
                warning(s.loc, "unit " + quote(unit) + " is not running; scope resolved again at the next reload");
                cs.unresolved.push_back("unit " + unit);
            }
        }

        for (const auto& cg : s.cgroups) {
            const auto d = detail::check_cgroup_dir(cg, true);
            switch (d.status) {
            case detail::CgroupDir::Status::ok:
                add(d.id, cg);
                break;
            case detail::CgroupDir::Status::missing:
                warning(s.loc, "cgroup " + quote(cg) + " does not exist; scope resolved again at the next reload");
                cs.unresolved.push_back("cgroup " + cg);
                break;
            case detail::CgroupDir::Status::not_directory:
                error(s.loc, "cgroup " + quote(cg) + " is not a directory");
                break;
            case detail::CgroupDir::Status::not_cgroup2:
                error(s.loc, "cgroup " + quote(cg) + " is not on a cgroup v2 filesystem");
                break;
            case detail::CgroupDir::Status::failed:
                error(s.loc, "cannot access cgroup " + quote(cg) + ": " + std::strerror(d.err));
                break;
            }
        }

        if (cs.cgroup_ids.empty())
            warning(s.loc, "scope of policy " + quote(p.name) +
                               " matches no cgroup now; the policy applies to no process until a reload finds one");
        out_.scopes.push_back(std::move(cs));
    }

    // ----------------------------------------------------------- precedence

    std::string owner(const CompiledRule& r) const
    {
        return "rule for " + quote(r.path) + " (policy " + r.policy + ")";
    }

    void apply_precedence()
    {
        std::stable_sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) {
            if (a.id != b.id)
                return a.id < b.id;
            return beats(a, b);
        });
        std::vector<std::pair<uint32_t, std::string>> shadowed;  // loser rule id, message
        for (std::size_t i = 0; i < candidates_.size();) {
            std::size_t j = i + 1;
            while (j < candidates_.size() && candidates_[j].id == candidates_[i].id)
                ++j;
            const Candidate& win = candidates_[i];
            const CompiledRule& wr = out_.rules[win.rule_id];
            FileEntry entry;
            entry.id = win.id;
            entry.kind = win.kind;
            entry.rule_id = win.rule_id;
            entry.scope = win.scope;
            entry.audit = win.audit;
            entry.directory = false;  // directory rules are refused in this version
            entry.path = wr.resolved_path;
            out_.files.push_back(std::move(entry));
            for (std::size_t k = i + 1; k < j; ++k) {
                const Candidate& lose = candidates_[k];
                const CompiledRule& lr = out_.rules[lose.rule_id];
                std::string msg = owner(lr) + " is shadowed by " + owner(wr) + " at " + detail::format_location(wr.loc);
                if (win.scope != 0 && win.scope != lose.scope)
                    msg += "; the winning rule applies only inside the scope of policy " + wr.policy +
                           ", so this rule is not enforced outside it (see docs/policy.md, precedence)";
                else if (win.audit && !lose.audit)
                    msg += "; the winning rule only audits, so this rule is not enforced";
                shadowed.emplace_back(lose.rule_id, std::move(msg));
            }
            i = j;
        }
        std::sort(out_.files.begin(), out_.files.end(), [](const FileEntry& a, const FileEntry& b) {
            return std::pair(a.rule_id, a.id) < std::pair(b.rule_id, b.id);
        });
        std::sort(shadowed.begin(), shadowed.end());
        for (auto& [rule_id, msg] : shadowed)
            warning(out_.rules[rule_id].loc, std::move(msg));
    }

    const CompileOptions& opts_;
    CompiledPolicy out_;
    std::vector<Candidate> candidates_;
    std::optional<std::string> cgroup_root_;
    std::optional<detail::CgroupTree> cgroup_tree_;
    uint32_t next_scope_ = 1;
    uint32_t next_allowlist_ = 0;
};

}  // namespace

CompiledPolicy compile(const std::vector<Policy>& policies, const CompileOptions& opts)
{
    return Compiler(opts).run(policies);
}

}  // namespace bulwark::policy
