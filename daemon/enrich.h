// enrich.h — what user space adds to a kernel event: the executable, the
// parent's name, the user name and the systemd unit.  Read from /proc while
// the process may still exist; "" when it is gone (killed processes often are).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace bulwark {

struct Enrichment {
    std::string exe;          // /proc/PID/exe
    std::string parent_comm;  // /proc/PPID/comm
    std::string user;         // user name of the uid
    std::string unit;         // systemd unit from the cgroup path
};

// systemd unit of a cgroup v2 path: the last path component that looks like
// a unit ("nginx.service", "session-2.scope"); "" if none.
std::string unit_from_cgroup_path(const std::string& cgroup_path);

// Looks processes up in /proc, with a short-lived cache: a storm of
// violations from one process costs one lookup per second, not one per event.
class Enricher {
public:
    // `proc` is the procfs mount point (tests may point it elsewhere).
    explicit Enricher(std::string proc = "/proc") : proc_(std::move(proc)) {}
    Enrichment lookup(uint32_t pid, uint32_t ppid, uint32_t uid);

private:
    struct Cached {
        Enrichment value;
        uint32_t ppid = 0, uid = 0;
        std::chrono::steady_clock::time_point at;
    };
    Enrichment read(uint32_t pid, uint32_t ppid, uint32_t uid);
    std::string user_name(uint32_t uid);
    std::string proc_;
    std::unordered_map<uint32_t, std::string> users_;
    std::unordered_map<uint32_t, Cached> cache_;  // by pid, valid for one second
};

}  // namespace bulwark
