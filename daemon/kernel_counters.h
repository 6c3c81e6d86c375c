// kernel_counters.h — what the kernel side counted: records, losses and
// every enforcement it could not carry out (bw_counters, summed over CPUs),
// and each program's recursion misses (runs the kernel skipped because the
// program was already running on that CPU: the hook then allowed).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/loader.h"

namespace bulwark {

struct KernelCounters {
    uint64_t emitted = 0;
    uint64_t lost = 0;            // ring buffer full
    uint64_t verdicts = 0;
    uint64_t walk_truncated = 0;  // ancestor walks stopped at BW_MAX_DIR_DEPTH
    uint64_t kill_failed = 0;     // bpf_send_signal failed
    uint64_t bad_state = 0;       // bw_state invalid: decided by the newest complete slot
    uint64_t no_policy = 0;       // no complete slot: nothing matched
    uint64_t scope_bind_failed = 0;  // a unit's new cgroup left out of its scope (map full)
    std::map<std::string, uint64_t> recursion_misses;  // per program
    uint64_t recursion_total() const;
};

KernelCounters read_kernel_counters(int counters_fd, const std::vector<NamedFd>& programs);

}  // namespace bulwark
