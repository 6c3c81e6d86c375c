// lockout.cpp — the lockout guard: a host-wide, enforcing policy that would
// make the host unusable is an error (bulwarkctl check, and every load),
// unless the policy says `spec.allowLockout: true`; then it is a warning.
// Two kinds (docs/policy.md, "Lockout guard"):
//   - an exec allowlist that refuses a program the host cannot do without
//     (PID 1's binary and its loader, systemd's programs, bulwarkd and
//     bulwarkctl, dpkg/apt, sshd/login/agetty: those installed);
//   - a file rule on a system directory (/, /usr, /etc, /lib, /boot, /proc,
//     /sys, /dev) or on a file the system rewrites (/etc/passwd, shadow,
//     group).
// Files are compared by identity, as the kernel will (usrmerge's /lib is
// /usr/lib).
#include "policy/lockout.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "policy/elf_deps.h"
#include "policy/text.h"

namespace bulwark::policy {

namespace {

std::optional<FileIdentity> identity_of(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return std::nullopt;
    return FileIdentity{kernel_dev_from_st_dev(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

std::string canonical(const std::string& path)
{
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

bool executable_file(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

// The identities an exec of `path` is allowed by: the file's own, then
// each directory above it up to "/".
std::vector<FileIdentity> exec_identities(const std::string& path)
{
    std::vector<FileIdentity> out;
    std::string p = canonical(path);
    if (p.empty())
        return out;
    if (auto id = identity_of(p))
        out.push_back(*id);
    while (p != "/") {
        const auto slash = p.rfind('/');
        p = slash == 0 ? "/" : p.substr(0, slash);
        if (auto id = identity_of(p))
            out.push_back(*id);
    }
    return out;
}

bool allows(const CompiledAllowlist& al, const std::vector<FileIdentity>& ids)
{
    for (std::size_t i = 0; i < al.files.size(); ++i) {
        const bool dir = i < al.directories.size() && al.directories[i];
        for (std::size_t level = 0; level < ids.size(); ++level)
            if (al.files[i] == ids[level] && (level == 0 || dir))
                return true;
    }
    return false;
}

struct SystemPath {
    const char* path;
    const char* why;
};

constexpr SystemPath kSystemDirs[] = {
    {"/", "every file of the host is below it"},
    {"/usr", "the programs and libraries of the host are below it"},
    {"/lib", "the libraries and kernel modules of the host are below it"},
    {"/etc", "the configuration every program reads is below it"},
    {"/boot", "the kernels and what the boot loader reads are below it; upgrades write there"},
    {"/proc", "every process reads the kernel's state there"},
    {"/sys", "every process and udev reads and writes the kernel's devices there"},
    {"/dev", "every process opens its terminal, /dev/null and devices there"},
};

constexpr SystemPath kRewrittenFiles[] = {
    {"/etc/passwd", "passwd, chsh, useradd and dpkg's maintainer scripts rewrite it"},
    {"/etc/shadow", "passwd, chpasswd and useradd rewrite it, and logins read it"},
    {"/etc/group", "groupadd, usermod and dpkg's maintainer scripts rewrite it"},
};

constexpr const char* kFix =
    "scope the policy to the units it is for (spec.scope), try it with `mode: audit` first, or, if you mean it, "
    "set `allowLockout: true` in its spec";

}  // namespace

std::vector<EssentialProgram> essential_programs()
{
    std::vector<EssentialProgram> out;
    std::set<std::string> seen;
    auto add = [&](const std::string& what, const std::string& path) {
        const std::string c = canonical(path);
        if (!c.empty() && executable_file(c) && seen.insert(c).second)
            out.push_back({what, c});
    };
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/1/exe", buf, sizeof(buf) - 1);
    const std::string init = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : canonical("/sbin/init");
    add("PID 1's binary", init);
    if (!init.empty())
        for (const auto& d : detail::program_dependencies(init))
            if (d.kind == detail::Dependency::Kind::interpreter && !d.path.empty())
                add("the dynamic loader", d.path);
    if (DIR* dir = ::opendir("/usr/lib/systemd")) {
        std::vector<std::string> names;
        while (const dirent* e = ::readdir(dir))
            if (std::string_view(e->d_name).rfind("systemd", 0) == 0)
                names.emplace_back(e->d_name);
        ::closedir(dir);
        std::sort(names.begin(), names.end());
        for (const auto& name : names)
            add("systemd's own programs", "/usr/lib/systemd/" + name);
    }
    add("systemd's own programs", "/usr/bin/systemctl");
    add("bulwark", "/usr/sbin/bulwarkd");
    add("bulwark", "/usr/bin/bulwarkctl");
    add("bulwark", canonical("/proc/self/exe"));  // the bulwarkd or bulwarkctl checking
    for (const char* p : {"/usr/bin/dpkg", "/usr/bin/apt", "/usr/bin/apt-get"})
        add("the package manager", p);
    for (const char* p : {"/usr/sbin/sshd", "/usr/bin/login", "/usr/sbin/agetty"})
        add("logins", p);
    return out;
}

namespace detail {

void check_lockouts(const std::vector<Policy>& policies, const std::vector<EssentialProgram>& essentials,
                    CompiledPolicy& out)
{
    std::map<std::string, const Policy*> by_name;
    for (const auto& p : policies)
        by_name.emplace(p.name, &p);
    auto report = [&](const CompiledRule& rule, std::string msg) {
        auto it = by_name.find(rule.policy);
        const bool allowed = it != by_name.end() && it->second->allow_lockout;
        if (allowed)
            msg += " (allowed: the policy says allowLockout: true)";
        else
            msg += "; " + std::string(kFix);
        out.diagnostics.push_back(Diagnostic{allowed ? Severity::warning : Severity::error, rule.loc, std::move(msg)});
    };
    auto host_wide_enforcing = [](const CompiledRule& r) { return r.scope == 0 && r.mode == PolicyMode::enforce; };

    // Exec allowlists.
    std::vector<std::pair<const EssentialProgram*, std::vector<FileIdentity>>> programs;
    for (const auto& e : essentials)
        programs.emplace_back(&e, exec_identities(e.path));
    for (const auto& al : out.allowlists) {
        const CompiledRule& rule = out.rules[al.rule_id];
        if (!host_wide_enforcing(rule))
            continue;
        std::vector<std::string> missing;  // "what PATH", grouped by `what` in order
        std::map<std::string, std::vector<std::string>> by_what;
        std::vector<std::string> order;
        for (const auto& [e, ids] : programs) {
            if (ids.empty() || allows(al, ids))
                continue;
            if (!by_what.count(e->what))
                order.push_back(e->what);
            by_what[e->what].push_back(e->path);
        }
        if (order.empty())
            continue;
        std::string msg = "host-wide enforcing execAllowlist of policy " + detail::quote(rule.policy) +
                          " would refuse what this host needs to run:";
        for (const auto& what : order) {
            const auto& paths = by_what[what];
            msg += " " + what + " (" + paths[0];
            if (paths.size() > 1)
                msg += " and " + std::to_string(paths.size() - 1) + " more";
            msg += ");";
        }
        msg += " allow them (their directories, e.g. `/usr/lib/systemd/`, or each file) in the list";
        report(rule, std::move(msg));
    }

    // File rules on system directories and on files the system rewrites.
    std::vector<std::pair<FileIdentity, const SystemPath*>> guarded;
    for (const auto& d : kSystemDirs)
        if (auto id = identity_of(d.path))
            guarded.emplace_back(*id, &d);
    const std::size_t dirs = guarded.size();
    for (const auto& f : kRewrittenFiles)
        if (auto id = identity_of(f.path))
            guarded.emplace_back(*id, &f);
    for (const auto& rule : out.rules) {
        if (rule.kind == RuleKind::exec_allowlist || !rule.identity || !host_wide_enforcing(rule))
            continue;
        for (std::size_t i = 0; i < guarded.size(); ++i) {
            if (guarded[i].first != *rule.identity)
                continue;
            const SystemPath& sp = *guarded[i].second;
            report(rule, std::string(to_string(rule.kind)) + " on " + detail::quote(sp.path) + " (host-wide, enforcing) " +
                             (i < dirs ? "would make the host unusable: " : "would break the host's accounts: ") +
                             sp.why);
            break;
        }
    }
}

}  // namespace detail

}  // namespace bulwark::policy
