#include "daemon/kernel_counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bulwark_abi.h"

namespace bulwark {

uint64_t KernelCounters::recursion_total() const {
    uint64_t n = 0;
    for (const auto& [name, v] : recursion_misses) n += v;
    return n;
}

KernelCounters read_kernel_counters(int counters_fd, const std::vector<NamedFd>& programs) {
    KernelCounters k;
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu > 0 && counters_fd >= 0) {
        std::vector<bw_counters> per_cpu(static_cast<size_t>(ncpu));
        const uint32_t zero = 0;
        if (bpf_map_lookup_elem(counters_fd, &zero, per_cpu.data()) == 0) {
            for (const auto& c : per_cpu) {
                k.emitted += c.events_emitted;
                k.lost += c.events_lost;
                k.verdicts += c.verdicts;
                k.walk_truncated += c.dir_walk_truncated;
                k.kill_failed += c.kill_failed;
                k.bad_state += c.bad_state;
                k.no_policy += c.no_policy;
                k.scope_bind_failed += c.scope_bind_failed;
            }
        }
    }
    for (const auto& p : programs) {
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(p.fd, &info, &len) == 0) k.recursion_misses[p.name] = info.recursion_misses;
    }
    return k;
}

}  // namespace bulwark
