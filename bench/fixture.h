// fixture.h — what the benchmarks run against: a private tmpfs with the
// files the policies name, cgroups for the scopes, and the generated policy
// directories (the realistic 1,000-rule policy, grown to N entries).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace bench {

struct PolicySet;
class Fixture;
PolicySet make_policy(Fixture& fx, const std::string& name, size_t entries);

class Fixture {
public:
    // Mounts a tmpfs at `root` (created; must not be mounted already) and
    // creates the cgroups below the cgroup v2 mount.
    explicit Fixture(std::string root);
    ~Fixture();  // unmounts, removes the cgroups
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    const std::string& root() const { return root_; }
    std::string path(const std::string& rel) const { return root_ + "/" + rel; }
    // The file no rule matches (depth 5 below the tmpfs root).
    std::string plain() const { return path("data/a/b/c/d/plain.txt"); }
    // The file the storm opens (an audit-mode rule).
    std::string storm_file() const { return path("storm/audited.txt"); }
    // A hard link and a symbolic link to the first kill-on-open file.
    std::string hardlink() const { return path("links/hard-k00"); }
    std::string symlink() const { return path("links/sym-k00"); }
    // Where workloads run: inside the exec allowlist's scope.
    const std::string& workload_cgroup() const { return cg_work_; }

    // Files for `n` bulk entries (created once, grown on demand).
    void ensure_bulk(size_t n);

private:
    std::string root_;
    std::string cg_bench_;
    std::string cg_work_;
    std::vector<std::string> cgroups_;  // created, deepest last
    size_t bulk_ = 0;
    friend PolicySet make_policy(Fixture& fx, const std::string& name, size_t entries);
};

// A generated policy directory and what it holds.
struct PolicySet {
    std::string name;                     // empty, 1k, 100k, 1M, storm
    std::string dir;                      // the policy directory
    size_t rules = 0;                     // rules (list entries) in it
    std::vector<std::string> deny_all;    // protectedFiles deny: all, unscoped enforce (files)
    std::vector<std::string> deny_dirs;   // protectedFiles directories, unscoped enforce
    std::vector<std::string> deny_write;  // protectedFiles deny: write, unscoped enforce
    std::vector<std::string> kill;        // killOnOpen, unscoped
    std::vector<std::string> exec_allow;  // the scoped exec allowlist's entries
};

// entries == 0: an empty policy directory; 1000: the realistic policy
// (files, directories, kill-on-open, audit mode, scopes, exec allowlists:
// ~1,000 rules); more: the realistic policy plus bulk protectedFiles entries
// up to `entries` rules.
PolicySet make_policy(Fixture& fx, const std::string& name, size_t entries);
// One audit-mode rule on storm_file().
PolicySet make_storm_policy(Fixture& fx);

// Settings file for bulwarkd using `policy` (audit log and control socket
// below the fixture's root); returns its path.
std::string write_daemon_config(const Fixture& fx, const PolicySet& policy, const std::string& mode);

// "1k", "100k", "1M" for 1000, 100000, 1000000.
std::string size_name(size_t entries);

}  // namespace bench
