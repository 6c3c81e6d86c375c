// cgroups.h — resolving scope.units and scope.cgroups to cgroup v2 ids
// (private to the policy library).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bulwark::policy::detail {

// Mount point of the first `cgroup2` entry of a /proc/self/mountinfo text
// (octal escapes such as \040 decoded); empty when there is none.
std::string find_cgroup2_mount(std::string_view mountinfo);
// The same, reading /proc/self/mountinfo.
std::string find_cgroup2_mount();

// The directories below a cgroup2 root (breadth-first, at most
// limits::max_unit_search_depth levels down), indexed by name.  Walked once
// per compile and shared by every scope.units lookup.
class CgroupTree {
public:
    explicit CgroupTree(const std::string& root);
    // The directories named `unit`, sorted, leaving out those below another
    // match (they are in its scope anyway).
    std::vector<std::string> find(const std::string& unit) const;

private:
    std::unordered_map<std::string, std::vector<std::string>> by_name_;
};

// CgroupTree(root).find(unit).
std::vector<std::string> find_unit_cgroups(const std::string& root, const std::string& unit);

struct CgroupDir {
    enum class Status { ok, missing, not_directory, not_cgroup2, failed };
    Status status = Status::failed;
    uint64_t id = 0;  // cgroup v2 id = inode number of the directory
    int err = 0;      // errno for failed
};

// Checks that `path` is a directory on a cgroup2 filesystem (statfs f_type
// CGROUP2_SUPER_MAGIC) and returns its id.  require_cgroup2 = false skips
// the filesystem check (used below an explicitly configured cgroup2 root).
CgroupDir check_cgroup_dir(const std::string& path, bool require_cgroup2);

}  // namespace bulwark::policy::detail
