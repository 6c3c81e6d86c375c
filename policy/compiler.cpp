// compiler.cpp — Policy list -> CompiledPolicy: rule ids, scope bits,
// allowlist indexes, paths resolved to file identities, precedence.
//
// The compiler never claims more than the kernel side will enforce: what it
// cannot enforce (a directory without recursive: true, non-regular
// executables) is an error, what is not enforced right now (missing paths,
// units not running, shadowed rules) is a warning that says so.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "bpf/bulwark_abi.h"
#include "policy/cgroups.h"
#include "policy/elf_deps.h"
#include "policy/identity.h"
#include "policy/limits.h"
#include "policy/lockout.h"
#include "policy/policy.h"
#include "policy/text.h"

namespace bulwark::policy {

// The compiler's bounds are the kernel side's.
static_assert(limits::max_scopes == BW_MAX_SCOPES - 1);
static_assert(limits::max_allowlists == BW_MAX_ALLOWLISTS);
static_assert(limits::max_dir_depth == BW_MAX_DIR_DEPTH);

namespace {

using detail::quote;
using detail::Resolved;

// The kernel's action of a file rule kind (enum bw_file_action), which
// orders actions by strength.
int action_strength(RuleKind k)
{
    switch (k) {
    case RuleKind::protect_write: return BW_ACT_DENY_WRITE;
    case RuleKind::protect_all: return BW_ACT_DENY_ALL;
    case RuleKind::kill_on_open: return BW_ACT_KILL;
    case RuleKind::exec_allowlist: return BW_ACT_NONE;
    }
    return BW_ACT_NONE;
}

// What the kernel compares at run time among the rules that match a file:
// bw_rule_strength (bulwark_abi.h), the one definition.
int runtime_strength(RuleKind k, bool audit)
{
    return static_cast<int>(bw_rule_strength(static_cast<__u32>(action_strength(k)), audit ? BW_RULE_AUDIT : 0u));
}

// A file rule that resolved to an identity, competing for its FileEntry.
struct Candidate {
    FileIdentity id;
    uint32_t generation = 0;  // of the inode, when resolved
    uint32_t rule_id = 0;
    RuleKind kind = RuleKind::protect_all;
    uint32_t scope = 0;
    bool audit = false;
    bool directory = false;
};

// One map entry per identity; when several rules name the same identity:
// enforce beats audit, then unscoped beats scoped (host-wide protection is
// never lost), then the stronger action, then the lower rule id.
bool beats(const Candidate& a, const Candidate& b)
{
    if (a.audit != b.audit)
        return !a.audit;
    if ((a.scope == 0) != (b.scope == 0))
        return a.scope == 0;
    if (action_strength(a.kind) != action_strength(b.kind))
        return action_strength(a.kind) > action_strength(b.kind);
    return a.rule_id < b.rule_id;
}

bool ends_with_slash(const std::string& path)
{
    return !path.empty() && path.back() == '/';
}

// "/a/b//" -> "/a/b"; "/" -> "/".
std::string without_trailing_slashes(std::string path)
{
    while (path.size() > 1 && path.back() == '/')
        path.pop_back();
    return path;
}

// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "".
std::string parent_of(const std::string& path)
{
    if (path.size() <= 1)
        return {};
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos)
        return {};
    return slash == 0 ? std::string("/") : path.substr(0, slash);
}

// What a file entry does, for "the file is only ..." messages.
std::string effect(RuleKind k, bool audit)
{
    std::string e;
    switch (k) {
    case RuleKind::protect_write: e = "write-protected"; break;
    case RuleKind::protect_all: e = "protected against every open"; break;
    case RuleKind::kill_on_open: e = "guarded by kill-on-open"; break;
    case RuleKind::exec_allowlist: e = "allowlisted"; break;
    }
    return audit ? "audited as " + e : e;
}

class Compiler {
public:
    explicit Compiler(const CompileOptions& opts) : opts_(opts) {}

    CompiledPolicy run(const std::vector<Policy>& policies)
    {
        for (const auto& p : policies)
            compile_policy(p);
        apply_precedence();
        find_superblocks();
        find_mount_guards();
        find_outranked_rules();
        find_allowlist_overlaps();
        detail::check_lockouts(policies, opts_.essential_programs ? *opts_.essential_programs : essential_programs(),
                               out_);
        sort_diagnostics();
        return std::move(out_);
    }

private:
    // The superblock device of each directory rule's and each path
    // binding's filesystem (FileEntry::sb_dev), looked up once per device.
    void find_superblocks()
    {
        std::map<uint64_t, uint64_t> sb_of;  // identity dev -> superblock dev
        auto lookup = [&](uint64_t dev, const std::string& path) {
            auto it = sb_of.find(dev);
            if (it == sb_of.end())
                it = sb_of.emplace(dev, detail::superblock_dev(path)).first;
            return it->second;
        };
        for (auto& f : out_.files)
            if (f.directory)
                f.sb_dev = lookup(f.id.dev, f.path);
        for (auto& n : out_.names) {
            const auto slash = n.path.rfind('/');
            n.sb_dev = lookup(n.dir.dev, slash == 0 ? "/" : n.path.substr(0, slash));
        }
    }

    void error(const Location& loc, std::string msg)
    {
        out_.diagnostics.push_back(Diagnostic{Severity::error, loc, std::move(msg)});
    }
    void warning(const Location& loc, std::string msg)
    {
        out_.diagnostics.push_back(Diagnostic{Severity::warning, loc, std::move(msg)});
    }

    // In reading order: files in input order, then line and column.
    void sort_diagnostics()
    {
        std::map<std::string, std::size_t> rank;
        for (const auto& p : out_.policies)
            rank.emplace(p.loc.file, rank.size());
        const auto key = [&rank](const Diagnostic& d) {
            const auto it = rank.find(d.loc.file);
            return std::tuple(it == rank.end() ? rank.size() : it->second, d.loc.line, d.loc.column);
        };
        std::stable_sort(out_.diagnostics.begin(), out_.diagnostics.end(),
                         [&key](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
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
    // built in code and the compiler must never stat() a relative path.
    bool acceptable_path(const std::string& path, const Location& loc)
    {
        if (path.empty() || path[0] != '/') {
            error(loc, "path " + quote(path) + " is not absolute");
            return false;
        }
        if (path.find('\0') != std::string::npos) {
            error(loc, "path " + quote(path) + " contains a NUL byte");
            return false;
        }
        if (path.size() > limits::max_path_bytes) {
            error(loc, "path " + quote(path) + " is longer than " + std::to_string(limits::max_path_bytes) + " bytes");
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
        out_.policies.push_back(CompiledPolicyInfo{p.name, p.mode, scope, p.loc});
        if (p.protected_files.empty() && p.kill_on_open.empty() && !p.exec_allowlist)
            error(p.loc, "policy " + quote(p.name) + " has no rules");

        for (const auto& pf : p.protected_files) {
            const RuleKind kind = pf.deny == DenyKind::write ? RuleKind::protect_write : RuleKind::protect_all;
            const uint32_t id = add_rule(p, kind, pf.path, pf.loc, scope).id;
            if (acceptable_path(pf.path, pf.loc))
                resolve_file_rule(id, pf.recursive, usable, audit);
        }
        for (const auto& k : p.kill_on_open) {
            const uint32_t id = add_rule(p, RuleKind::kill_on_open, k.path, k.loc, scope).id;
            if (acceptable_path(k.path, k.loc))
                resolve_file_rule(id, k.recursive, usable, audit);
        }
        if (p.exec_allowlist)
            compile_allowlist(p, *p.exec_allowlist, scope, usable, audit);
    }

    // ---------------------------------------------------------------- files

    // A path as written, resolved; a trailing '/' is resolved without it (so
    // that a symlink is still seen as one) and asks for a directory.
    Resolved resolve(const std::string& path)
    {
        return resolver_.resolve(without_trailing_slashes(path));
    }

    void resolve_file_rule(uint32_t rule_id, bool recursive, bool usable, bool audit)
    {
        CompiledRule& rule = out_.rules[rule_id];
        const Resolved r = resolve(rule.path);
        switch (r.status) {
        case Resolved::Status::missing:
            if (r.symlink) {
                warning(rule.loc, "path " + quote(rule.path) + " is a symlink to " + quote(r.link_target) +
                                      ", which does not exist; rule not enforced until it does (re-resolved at reload)");
                return;
            }
            if (!recursive && !ends_with_slash(rule.path) && bind_name(rule, r.resolved, usable, audit)) {
                warning(rule.loc, "path " + quote(rule.path) + " does not exist yet; the rule is bound to the path: "
                                      "a file created, renamed or linked there takes it from its first open");
                return;
            }
            warning(rule.loc, "path " + quote(rule.path) +
                                  " does not exist; rule not enforced until it does (re-resolved at reload)");
            return;
        case Resolved::Status::failed:
            error(rule.loc, "cannot resolve path " + quote(rule.path) + ": " + std::strerror(r.err));
            return;
        case Resolved::Status::ok:
            break;
        }
        const bool directory = S_ISDIR(r.mode);
        if (directory && !recursive) {
            error(rule.loc, quote(rule.path) + " is a directory; add recursive: true to cover everything below it");
            return;
        }
        if (!directory && ends_with_slash(rule.path)) {
            error(rule.loc, "path " + quote(rule.path) + " ends in \"/\", but it is not a directory");
            return;
        }
        if (r.symlink)
            warning(rule.loc, "path " + quote(rule.path) + " is a symlink; the rule is enforced on its target " +
                                  quote(r.resolved));
        if (!directory && recursive)
            warning(rule.loc, "recursive: true has no effect: " + quote(rule.path) + " is not a directory");
        rule.identity = r.id;
        rule.resolved_path = r.resolved;
        rule.directory = directory;
        if (!opts_.btrfs_identity && on_btrfs(r.resolved, r.id)) {
            warning(rule.loc, "path " + quote(rule.path) + " is on btrfs, but the kernel's BPF type information "
                              "had no btrfs types when bulwark's programs were loaded, so they cannot tell its "
                              "subvolumes apart: the rule is NOT enforced (restart bulwarkd; docs/policy.md, "
                              "\"Filesystems\")");
            rule.not_enforced_reason = "on btrfs";
            return;
        }
        if (usable)
            candidates_.push_back(Candidate{r.id, r.generation, rule.id, rule.kind, rule.scope, audit, directory});
        if (!directory)
            bind_name(rule, r.resolved, usable, audit);  // a file replaced by another one keeps the rule
    }

    // Binds `rule` to `path` (absolute, its directory canonical for an
    // existing file): the name in its directory.  False when the directory
    // does not exist (or is not one).
    bool bind_name(CompiledRule& rule, const std::string& path, bool usable, bool audit)
    {
        const std::string dir_written = parent_of(path);
        const std::string name = path.substr(path.rfind('/') + 1);
        if (dir_written.empty() || name.empty() || name == "." || name == ".." || name.size() > BW_NAME_MAX)
            return false;
        const std::string dir = canonical_dir(dir_written);
        const auto id = dir.empty() ? std::nullopt : identity_of_dir(dir);
        if (!id)
            return false;
        if (!opts_.btrfs_identity && on_btrfs(dir, *id)) {
            rule.not_enforced_reason = "on btrfs";
            return false;
        }
        rule.bound_dir = *id;
        if (rule.resolved_path.empty())
            rule.resolved_path = (dir == "/" ? "" : dir) + "/" + name;
        if (usable)
            name_candidates_.push_back(
                NameCandidate{Candidate{*id, 0, rule.id, rule.kind, rule.scope, audit, false}, name});
        return true;
    }

    // realpath() of a directory, "" when it cannot be resolved.
    static std::string canonical_dir(const std::string& dir)
    {
        char buf[PATH_MAX];
        return ::realpath(dir.c_str(), buf) ? std::string(buf) : std::string();
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
        std::vector<std::pair<std::string, ExecEntry>> programs;  // canonical path, entry
        for (const auto& e : entries) {
            if (!acceptable_path(e.path, e.loc)) {
                entry_errors = true;
                continue;
            }
            const Resolved r = resolve(e.path);
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
            const bool directory = S_ISDIR(r.mode);
            if (directory && !ends_with_slash(e.path)) {
                error(e.loc, quote(e.path) + " is a directory; write it as " + quote(e.path + "/") +
                                 " to allow everything below it");
                entry_errors = true;
                continue;
            }
            if (!directory && ends_with_slash(e.path)) {
                error(e.loc, "path " + quote(e.path) + " ends in \"/\", but it is not a directory");
                entry_errors = true;
                continue;
            }
            if (!directory && !S_ISREG(r.mode)) {
                error(e.loc, "path " + quote(e.path) + " is not a regular file; only regular files can be executed");
                entry_errors = true;
                continue;
            }
            if (r.symlink)
                warning(e.loc, "path " + quote(e.path) + " is a symlink; the allowlist allows its target " +
                                   quote(r.resolved));
            if (!opts_.btrfs_identity && on_btrfs(r.resolved, r.id))
                warning(e.loc, "path " + quote(e.path) + " is on btrfs, but the kernel's BPF type information had "
                               "no btrfs types when bulwark's programs were loaded: the kernel will not recognise "
                               "this entry, so "
                               "processes in the allowlist's scope cannot execute it (docs/policy.md, "
                               "\"Filesystems\")");
            if (std::find(al.files.begin(), al.files.end(), r.id) != al.files.end())
                continue;  // the same file twice (hardlink, symlink): listed once
            al.files.push_back(r.id);
            al.paths.push_back(r.resolved);
            al.directories.push_back(directory);
            al.generations.push_back(r.generation);
            if (!directory)
                programs.emplace_back(r.resolved, e);
        }
        for (const auto& [program, entry] : programs)
            check_program_needs(al, program, entry);
        if (al.files.empty() && !entry_errors)
            warning(rule_loc, "none of the execAllowlist entries of policy " + quote(p.name) +
                                  " exist; the allowlist is still in force and denies every exec " +
                                  (scope == 0 ? std::string("on the whole host") : std::string("in its scope")));
        if (usable)
            out_.allowlists.push_back(std::move(al));
    }

    // Whether `path` (of identity `id`) lies on btrfs: one statfs() per
    // device, not per rule (a 1M-rule policy would pay a second for it).
    bool on_btrfs(const std::string& path, const FileIdentity& id)
    {
        const auto it = btrfs_devs_.find(id.dev);
        if (it != btrfs_devs_.end())
            return it->second;
        struct statfs sf {};
        const bool btrfs = ::statfs(path.c_str(), &sf) == 0 &&
                           static_cast<unsigned long>(sf.f_type) == BTRFS_SUPER_MAGIC;
        btrfs_devs_.emplace(id.dev, btrfs);
        return btrfs;
    }

    // Whether `al` allows the file at canonical path `path`: listed (by
    // identity) or below a listed directory.
    bool allows(const CompiledAllowlist& al, const std::string& path)
    {
        const Resolved r = resolve(path);
        if (r.status == Resolved::Status::ok &&
            std::find(al.files.begin(), al.files.end(), r.id) != al.files.end())
            return true;
        for (size_t i = 0; i < al.paths.size(); ++i)
            if (al.directories[i] && path.rfind(al.paths[i] + "/", 0) == 0)
                return true;
        return false;
    }

    // In LSM mode mapping code is exec: warn about each loader, library or
    // script interpreter `program` (an entry of `al`) needs and `al` lacks.
    void check_program_needs(const CompiledAllowlist& al, const std::string& program, const ExecEntry& e)
    {
        constexpr size_t max_listed = 3;
        size_t libraries = 0;
        for (const auto& d : detail::program_dependencies(program)) {
            if (d.path.empty() || allows(al, d.path))
                continue;  // not found: ld.so fails on its own, nothing to allow
            const std::string dir = d.path.substr(0, d.path.find_last_of('/') + 1);
            switch (d.kind) {
            case detail::Dependency::Kind::script_interpreter:
                warning(e.loc, "path " + quote(e.path) + " is a script run by " + d.name + " (" + d.path +
                                   "), which this allowlist does not allow: executing the script is refused; allow "
                                   "the interpreter too");
                break;
            case detail::Dependency::Kind::interpreter:
                warning(e.loc, "path " + quote(e.path) + " starts through its ELF interpreter " + d.name + " (" +
                                   d.path + "), which this allowlist does not allow: in LSM mode the program cannot "
                                   "start (mapping code counts as exec); allow it or " + quote(dir));
                break;
            case detail::Dependency::Kind::library:
                if (++libraries <= max_listed)
                    warning(e.loc, "path " + quote(e.path) + " needs library " + d.name + " (" + d.path +
                                       (d.needed_by == program ? "" : ", needed by " + d.needed_by) +
                                       "), which this allowlist does not allow: in LSM mode it cannot be loaded "
                                       "(mapping code counts as exec); allow it or " + quote(dir));
                break;
            }
        }
        if (libraries > max_listed)
            warning(e.loc, "path " + quote(e.path) + ": " + std::to_string(libraries - max_listed) +
                               " more libraries it needs are not allowed either");
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
        cs.units = s.units;
        cs.cgroups = s.cgroups;
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

    const CompiledScope* scope_of(uint32_t bit) const
    {
        for (const auto& s : out_.scopes)
            if (s.bit == bit)
                return &s;
        return nullptr;
    }

    // "whole host", "scope nginx.service", "scope [a.service, /sys/fs/cgroup/x]".
    std::string scope_text(uint32_t bit) const
    {
        if (bit == 0)
            return "whole host";
        const CompiledScope* s = scope_of(bit);
        if (s == nullptr)
            return "scope " + std::to_string(bit);
        std::vector<std::string> items = s->units;
        items.insert(items.end(), s->cgroups.begin(), s->cgroups.end());
        std::string out;
        for (const auto& i : items)
            out += (out.empty() ? "" : ", ") + i;
        return items.size() == 1 ? "scope " + out : "scope [" + out + "]";
    }

    // Two scope bits that hold exactly the same processes: the same bit, or
    // scopes written the same way (same units and cgroups).
    bool same_scope(uint32_t a, uint32_t b) const
    {
        if (a == b)
            return true;
        if (a == 0 || b == 0)
            return false;
        const CompiledScope* sa = scope_of(a);
        const CompiledScope* sb = scope_of(b);
        if (sa == nullptr || sb == nullptr)
            return false;
        const auto sorted = [](std::vector<std::string> v) {
            std::sort(v.begin(), v.end());
            v.erase(std::unique(v.begin(), v.end()), v.end());
            return v;
        };
        return sorted(sa->units) == sorted(sb->units) && sorted(sa->cgroups) == sorted(sb->cgroups);
    }

    // ----------------------------------------------------------- precedence

    // `rule for "/a" (policy x, killOnOpen, audit, scope nginx.service)`
    std::string owner(const CompiledRule& r) const
    {
        std::string out = "rule for " + quote(r.path) + " (policy " + r.policy + ", " + std::string(to_string(r.kind));
        if (r.mode == PolicyMode::audit)
            out += ", audit";
        return out + ", " + scope_text(r.scope) + ")";
    }

    // What the loser `l` no longer does because `w` holds the identity.
    std::string loss(const Candidate& w, const Candidate& l) const
    {
        const std::string subject = w.directory ? "the directory and everything below it" : "the file";
        const std::string verb = w.directory ? " are" : " is";
        const std::string what = l.audit ? "audited" : "protected";
        if (!same_scope(w.scope, l.scope) && w.scope != 0) {
            // Processes in the loser's scope but outside the winner's lose everything.
            const std::string& wp = out_.rules[w.rule_id].policy;
            if (l.scope == 0)
                return "outside the scope of policy " + wp + " " + subject + verb + " not " + what + " at all";
            return "in the scope of policy " + out_.rules[l.rule_id].policy + " but outside the scope of policy " + wp +
                   " " + subject + verb + " not " + what + " at all";
        }
        // The winner applies wherever the loser does.
        if (w.audit == l.audit && action_strength(w.kind) < action_strength(l.kind))
            return std::string(l.scope != 0 && w.scope == 0 ? "inside the scope " : "") + subject + verb + " only " +
                   effect(w.kind, w.audit);
        if (!w.audit && l.audit && w.kind == RuleKind::protect_write && l.kind != RuleKind::protect_write)
            return "reads are allowed without being audited (an enforcing rule beats an auditing one)";
        return "nothing is lost: the winning rule is at least as strong wherever this one applies";
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
            entry.directory = win.directory;
            entry.path = wr.resolved_path;
            entry.generation = win.generation;
            out_.files.push_back(std::move(entry));
            for (std::size_t k = i + 1; k < j; ++k) {
                const Candidate& lose = candidates_[k];
                CompiledRule& lr = out_.rules[lose.rule_id];
                lr.shadowed_by = win.rule_id;
                shadowed.emplace_back(lose.rule_id, owner(lr) + " is shadowed by " + owner(wr) + " at " +
                                                        detail::format_location(wr.loc) + "; " + loss(win, lose));
            }
            i = j;
        }
        std::sort(out_.files.begin(), out_.files.end(), [](const FileEntry& a, const FileEntry& b) {
            return std::pair(a.rule_id, a.id) < std::pair(b.rule_id, b.id);
        });
        // Paths: the same precedence per (directory, name).  Rules on the
        // same file were weighed (and warned about) above already.
        std::stable_sort(name_candidates_.begin(), name_candidates_.end(),
                         [](const NameCandidate& a, const NameCandidate& b) {
                             if (a.c.id != b.c.id || a.name != b.name)
                                 return std::tie(a.c.id, a.name) < std::tie(b.c.id, b.name);
                             return beats(a.c, b.c);
                         });
        for (std::size_t i = 0; i < name_candidates_.size(); ++i) {
            const NameCandidate& n = name_candidates_[i];
            if (i > 0 && name_candidates_[i - 1].c.id == n.c.id && name_candidates_[i - 1].name == n.name)
                continue;
            out_.names.push_back(NameEntry{n.c.id, n.name, n.c.kind, n.c.rule_id, n.c.scope, n.c.audit,
                                           out_.rules[n.c.rule_id].resolved_path});
        }
        std::sort(shadowed.begin(), shadowed.end());
        for (auto& [rule_id, msg] : shadowed)
            warning(out_.rules[rule_id].loc, std::move(msg));
    }

    // Every directory above a file entry's file, up to "/" (the file
    // entry itself is guarded by the walk).  An enforcing rule below wins
    // over an auditing one; going up stops at a directory already guarded
    // as strongly, so shared ancestors cost one lookup per file.
    void find_mount_guards()
    {
        std::map<FileIdentity, MountGuard> guards;
        std::vector<FileEntry> below = out_.files;  // what lies below: files, and paths bound by name
        for (const auto& n : out_.names)
            below.push_back(FileEntry{n.dir, n.kind, n.rule_id, n.scope, n.audit, n.path, 0, false});
        for (const auto& f : below) {
            for (std::string dir = parent_of(f.path); !dir.empty(); dir = parent_of(dir)) {
                const auto id = identity_of_dir(dir);
                if (!id)
                    continue;
                auto [it, fresh] = guards.try_emplace(*id, MountGuard{*id, f.rule_id, f.kind, f.audit, dir});
                if (!fresh) {
                    if (it->second.audit && !f.audit)
                        it->second = MountGuard{*id, f.rule_id, f.kind, false, dir};
                    else
                        break;  // above here already guarded at least as strongly
                }
            }
        }
        out_.mount_guards.reserve(guards.size());
        for (auto& [id, g] : guards)
            out_.mount_guards.push_back(std::move(g));
    }

    // The identity of an ancestor directory (cached), none if it cannot be
    // stat()ed.
    std::optional<FileIdentity> identity_of_dir(const std::string& path)
    {
        const auto it = dir_ids_.find(path);
        if (it != dir_ids_.end())
            return it->second;
        std::optional<FileIdentity> id;
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            id = FileIdentity{kernel_dev_from_st_dev(static_cast<uint64_t>(st.st_dev)), static_cast<uint64_t>(st.st_ino)};
        dir_ids_.emplace(path, id);
        return id;
    }

    // A rule on a file (or directory) below a directory rule that is
    // stronger at run time and holds at least the same processes never
    // decides anything: the kernel takes the strongest matching rule.
    void find_outranked_rules()
    {
        std::map<FileIdentity, const FileEntry*> dirs;
        for (const auto& f : out_.files)
            if (f.directory)
                dirs.emplace(f.id, &f);
        if (dirs.empty())
            return;
        for (const auto& f : out_.files) {
            // The kernel walks at most BW_MAX_DIR_DEPTH ancestors, within the
            // file's filesystem (same dev).
            std::string dir = parent_of(f.path);
            for (uint32_t level = 1; level <= limits::max_dir_depth && !dir.empty(); ++level, dir = parent_of(dir)) {
                const auto id = identity_of_dir(dir);
                if (!id || id->dev != f.id.dev)
                    break;
                const auto d = dirs.find(*id);
                if (d == dirs.end())
                    continue;
                const FileEntry& above = *d->second;
                const bool covers = above.scope == 0 || same_scope(above.scope, f.scope);
                if (!covers || runtime_strength(above.kind, above.audit) <= runtime_strength(f.kind, f.audit))
                    continue;
                CompiledRule& r = out_.rules[f.rule_id];
                const CompiledRule& dr = out_.rules[above.rule_id];
                r.outranked_by = dr.id;
                warning(r.loc, owner(r) + " is shadowed at run time by the stronger directory " + owner(dr) + " at " +
                                   detail::format_location(dr.loc) +
                                   ", which covers it: the kernel applies the strongest matching rule, so this rule "
                                   "never decides");
                break;
            }
        }
    }

    // ------------------------------------------------------------ allowlists

    // Why the scopes of two allowlists (of policies `pa` and `pb`) can hold
    // the same process, or nothing.
    std::string scopes_overlap(uint32_t a, const std::string& pa, uint32_t b, const std::string& pb) const
    {
        if (a == 0 && b == 0)
            return "both apply to the whole host";
        if (a == 0 || b == 0)
            return "the allowlist of policy " + (a == 0 ? pa : pb) + " applies to the whole host";
        const CompiledScope* sa = scope_of(a);
        const CompiledScope* sb = scope_of(b);
        if (sa == nullptr || sb == nullptr)
            return {};
        for (const auto& u : sa->units)
            if (std::find(sb->units.begin(), sb->units.end(), u) != sb->units.end())
                return "both scopes name unit " + u;
        const auto below = [](const std::string& p, const std::string& dir) {
            const std::string d = without_trailing_slashes(dir);
            return p.size() > d.size() && p.compare(0, d.size(), d) == 0 && (p[d.size()] == '/' || d == "/");
        };
        for (std::size_t i = 0; i < sa->cgroup_ids.size(); ++i) {
            for (std::size_t j = 0; j < sb->cgroup_ids.size(); ++j) {
                const std::string ca = without_trailing_slashes(sa->cgroup_paths[i]);
                const std::string cb = without_trailing_slashes(sb->cgroup_paths[j]);
                if (sa->cgroup_ids[i] == sb->cgroup_ids[j] || ca == cb)
                    return "both scopes hold cgroup " + ca;
                if (below(cb, ca))
                    return "cgroup " + cb + " (policy " + pb + ") is below cgroup " + ca + " (policy " + pa + ")";
                if (below(ca, cb))
                    return "cgroup " + ca + " (policy " + pa + ") is below cgroup " + cb + " (policy " + pb + ")";
            }
        }
        return {};
    }

    void find_allowlist_overlaps()
    {
        const auto& al = out_.allowlists;
        for (std::size_t i = 0; i < al.size(); ++i) {
            for (std::size_t j = i + 1; j < al.size(); ++j) {
                std::string reason = scopes_overlap(al[i].scope, out_.rules[al[i].rule_id].policy, al[j].scope,
                                                    out_.rules[al[j].rule_id].policy);
                if (!reason.empty())
                    out_.allowlist_overlaps.push_back(AllowlistOverlap{al[i].index, al[j].index, std::move(reason)});
            }
        }
    }

    const CompileOptions& opts_;
    CompiledPolicy out_;
    detail::PathResolver resolver_;  // one per compile
    std::vector<Candidate> candidates_;
    struct NameCandidate {
        Candidate c;  // c.id: the directory
        std::string name;
    };
    std::vector<NameCandidate> name_candidates_;
    std::optional<std::string> cgroup_root_;
    std::optional<detail::CgroupTree> cgroup_tree_;
    std::map<std::string, std::optional<FileIdentity>> dir_ids_;
    uint32_t next_scope_ = 1;
    uint32_t next_allowlist_ = 0;
    std::map<uint64_t, bool> btrfs_devs_;  // kernel dev -> on btrfs (on_btrfs)
};

}  // namespace

std::map<uint64_t, uint64_t> unit_cgroups_now(const CompiledPolicy& compiled, const CompileOptions& opts)
{
    std::map<uint64_t, uint64_t> out;
    bool any = false;
    for (const auto& s : compiled.scopes)
        any = any || !s.units.empty();
    if (!any)
        return out;
    const std::string root = opts.cgroup2_root.empty() ? detail::find_cgroup2_mount() : opts.cgroup2_root;
    if (root.empty())
        return out;
    const detail::CgroupTree tree(root);
    for (const auto& s : compiled.scopes)
        for (const auto& unit : s.units)
            for (const auto& dir : tree.find(unit)) {
                const auto d = detail::check_cgroup_dir(dir, opts.cgroup2_root.empty());
                if (d.status == detail::CgroupDir::Status::ok)
                    out[d.id] |= uint64_t{1} << s.bit;
            }
    return out;
}

CompiledPolicy compile(const std::vector<Policy>& policies, const CompileOptions& opts)
{
    return Compiler(opts).run(policies);
}

}  // namespace bulwark::policy
