#include "bench/fixture.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "policy/cgroups.h"

namespace bench {
namespace {

namespace fs = std::filesystem;

constexpr size_t kRealisticRules = 1000;
constexpr size_t kBulkPerDir = 1000;
constexpr size_t kBulkPerFile = 50'000;  // policy files stay far below the 16 MiB limit
constexpr int kScopes = 10;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

void touch(const std::string& p, const std::string& content = {}) {
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("create " + p);
    if (!content.empty() && write(fd, content.data(), content.size()) != ssize_t(content.size())) fail("write " + p);
    close(fd);
}

std::string cgroup2_mount() {
    std::string mnt = bulwark::policy::detail::find_cgroup2_mount();
    if (mnt.empty())
        throw std::runtime_error("no cgroup v2 mount in /proc/self/mountinfo: the scope rules need one");
    return mnt;
}

std::string fmt_idx(const char* prefix, size_t i, int width) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%s%0*zu", prefix, width, i);
    return buf;
}

// Writes one policy document.
class PolicyWriter {
public:
    PolicyWriter(std::ostream& out, const std::string& name, const std::string& mode, const std::string& scope_cgroup)
        : out_(out) {
        out_ << "---\napiVersion: bulwark/v1\nkind: Policy\nmetadata:\n  name: " << name << "\nspec:\n  mode: " << mode
             << "\n";
        if (!scope_cgroup.empty()) out_ << "  scope:\n    cgroups: [" << scope_cgroup << "]\n";
    }
    void section(const char* key) { out_ << "  " << key << ":\n"; }
    void protect(const std::string& path, const char* deny, bool recursive = false) {
        out_ << "    - path: " << path << "\n      deny: " << deny << "\n";
        if (recursive) out_ << "      recursive: true\n";
        ++rules;
    }
    void kill(const std::string& path) {
        out_ << "    - path: " << path << "\n";
        ++rules;
    }
    void allow(const std::string& path) {
        out_ << "    - " << path << "\n";
        ++rules;
    }
    size_t rules = 0;

private:
    std::ostream& out_;
};

}  // namespace

std::string size_name(size_t entries) {
    if (entries >= 1'000'000 && entries % 1'000'000 == 0) return std::to_string(entries / 1'000'000) + "M";
    if (entries >= 1000 && entries % 1000 == 0) return std::to_string(entries / 1000) + "k";
    return std::to_string(entries);
}

Fixture::Fixture(std::string root) : root_(std::move(root)) {
    fs::create_directories(root_);
    // nr_inodes=0: no inode limit (the 1M-entry policy names 1M files).
    if (mount("bulwark-bench", root_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,nr_inodes=0,size=8g") < 0)
        fail("mount a tmpfs on " + root_);
    for (const char* d : {"data/a/b/c/d", "rules/files", "rules/kill", "rules/audit", "rules/exec", "storm", "links",
                          "policies", "bulk", "run"})
        fs::create_directories(path(d));
    touch(plain(), std::string(4096, 'x'));
    touch(storm_file(), "audited\n");
    for (size_t i = 0; i < 700; ++i) touch(path(fmt_idx("rules/files/f", i, 4)));
    for (size_t d = 0; d < 40; ++d) {
        const std::string dir = path(fmt_idx("rules/dirs/d", d, 2));
        fs::create_directories(dir + "/sub");
        for (int f = 0; f < 5; ++f) touch(dir + "/sub/file" + std::to_string(f));
    }
    for (size_t i = 0; i < 40; ++i) touch(path(fmt_idx("rules/kill/k", i, 2)), "canary\n");
    for (size_t i = 0; i < 100; ++i) touch(path(fmt_idx("rules/audit/a", i, 3)));
    for (int s = 0; s < kScopes; ++s) {
        const std::string dir = path("rules/scoped/s" + std::to_string(s));
        fs::create_directories(dir);
        for (size_t i = 0; i < 10; ++i) touch(dir + fmt_idx("/f", i, 2));
    }
    for (size_t i = 0; i < 7; ++i) touch(path(fmt_idx("rules/exec/tool", i, 1)));
    if (link(path("rules/kill/k00").c_str(), hardlink().c_str()) < 0) fail("link " + hardlink());
    if (::symlink(path("rules/kill/k00").c_str(), symlink().c_str()) < 0) fail("symlink " + symlink());

    const std::string cg = cgroup2_mount();
    cg_bench_ = cg + "/bulwark-bench";
    cg_work_ = cg_bench_ + "/run/w";
    std::vector<std::string> dirs = {cg_bench_, cg_bench_ + "/run", cg_work_};
    for (int s = 0; s < kScopes; ++s) dirs.push_back(cg_bench_ + "/s" + std::to_string(s));
    for (const auto& d : dirs) {
        if (mkdir(d.c_str(), 0755) < 0 && errno != EEXIST) fail("create cgroup " + d);
        cgroups_.push_back(d);
    }
}

Fixture::~Fixture() {
    for (auto it = cgroups_.rbegin(); it != cgroups_.rend(); ++it) rmdir(it->c_str());
    if (umount2(root_.c_str(), MNT_DETACH) < 0) std::perror(("umount " + root_).c_str());
}

void Fixture::ensure_bulk(size_t n) {
    for (size_t i = bulk_; i < n; ++i) {
        const std::string dir = path(fmt_idx("bulk/d", i / kBulkPerDir, 4));
        if (i % kBulkPerDir == 0 || i == bulk_) fs::create_directories(dir);
        touch(dir + fmt_idx("/f", i % kBulkPerDir, 3));
    }
    bulk_ = std::max(bulk_, n);
}

PolicySet make_policy(Fixture& fx, const std::string& name, size_t entries) {
    PolicySet ps;
    ps.name = name;
    ps.dir = fx.path("policies/" + name);
    fs::create_directories(ps.dir);
    if (entries == 0) return ps;

    std::ofstream out(ps.dir + "/00-realistic.yaml");
    out << "# The benchmark's realistic policy: every rule kind, scopes, audit mode.\n";
    {
        PolicyWriter w(out, "bench-files", "enforce", "");
        w.section("protectedFiles");
        for (size_t i = 0; i < 700; ++i) {
            const std::string p = fx.path(fmt_idx("rules/files/f", i, 4));
            const bool all = i % 2 == 0;
            w.protect(p, all ? "all" : "write");
            (all ? ps.deny_all : ps.deny_write).push_back(p);
        }
        for (size_t d = 0; d < 40; ++d) {
            const std::string p = fx.path(fmt_idx("rules/dirs/d", d, 2));
            w.protect(p, d % 2 == 0 ? "all" : "write", true);
            if (d % 2 == 0) ps.deny_dirs.push_back(p);
        }
        ps.rules += w.rules;
    }
    {
        PolicyWriter w(out, "bench-kill", "enforce", "");
        w.section("killOnOpen");
        for (size_t i = 0; i < 40; ++i) {
            ps.kill.push_back(fx.path(fmt_idx("rules/kill/k", i, 2)));
            w.kill(ps.kill.back());
        }
        ps.rules += w.rules;
    }
    {
        PolicyWriter w(out, "bench-audit", "audit", "");
        w.section("protectedFiles");
        for (size_t i = 0; i < 100; ++i) w.protect(fx.path(fmt_idx("rules/audit/a", i, 3)), "all");
        ps.rules += w.rules;
    }
    for (int s = 0; s < kScopes; ++s) {
        const std::string cg = fx.cg_bench_ + "/s" + std::to_string(s);
        PolicyWriter w(out, "bench-scope-" + std::to_string(s), "enforce", cg);
        w.section("protectedFiles");
        for (size_t i = 0; i < 10; ++i)
            w.protect(fx.path("rules/scoped/s" + std::to_string(s)) + fmt_idx("/f", i, 2), i % 2 ? "write" : "all");
        if (s < 4) {
            w.section("execAllowlist");
            w.allow("/usr/bin/");
        }
        ps.rules += w.rules;
    }
    {
        // Scoped to where the workloads run: every exec there is checked.
        PolicyWriter w(out, "bench-exec", "enforce", fx.cg_bench_ + "/run");
        w.section("execAllowlist");
        ps.exec_allow = {"/usr/bin/", "/usr/sbin/", "/usr/lib/"};
        for (size_t i = 0; i < 7; ++i) ps.exec_allow.push_back(fx.path(fmt_idx("rules/exec/tool", i, 1)));
        for (const auto& p : ps.exec_allow) w.allow(p);
        ps.rules += w.rules;
    }
    out.close();
    if (!out) throw std::runtime_error("write " + ps.dir + "/00-realistic.yaml");

    if (entries > kRealisticRules) {
        const size_t bulk = entries - ps.rules;
        fx.ensure_bulk(bulk);
        for (size_t first = 0; first < bulk; first += kBulkPerFile) {
            const size_t n = std::min(kBulkPerFile, bulk - first);
            const std::string file = ps.dir + fmt_idx("/10-bulk-", first / kBulkPerFile, 3) + ".yaml";
            std::ofstream b(file);
            PolicyWriter w(b, fmt_idx("bench-bulk-", first / kBulkPerFile, 3), "enforce", "");
            w.section("protectedFiles");
            for (size_t i = first; i < first + n; ++i) {
                const std::string p = fx.path(fmt_idx("bulk/d", i / kBulkPerDir, 4)) + fmt_idx("/f", i % kBulkPerDir, 3);
                w.protect(p, "write");
            }
            ps.rules += w.rules;
            b.close();
            if (!b) throw std::runtime_error("write " + file);
        }
    }
    return ps;
}

PolicySet make_storm_policy(Fixture& fx) {
    PolicySet ps;
    ps.name = "storm";
    ps.dir = fx.path("policies/storm");
    fs::create_directories(ps.dir);
    std::ofstream out(ps.dir + "/storm.yaml");
    PolicyWriter w(out, "bench-storm", "audit", "");
    w.section("protectedFiles");
    w.protect(fx.storm_file(), "all");
    ps.rules = w.rules;
    return ps;
}

std::string write_daemon_config(const Fixture& fx, const PolicySet& policy, const std::string& mode) {
    const std::string file = fx.path("bulwark-" + policy.name + ".yaml");
    std::ofstream out(file);
    out << "policyDir: " << policy.dir << "\n"
        << "auditLog: " << fx.path("audit-" + policy.name + ".jsonl") << "\n"
        << "controlSocket: " << fx.path("run/control.sock") << "\n"
        << "journal: false\n"
        << "mode: " << mode << "\n";
    out.close();
    if (!out) throw std::runtime_error("write " + file);
    return file;
}

}  // namespace bench
