#include "bench/bpf_stats.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

namespace bench {

std::map<uint32_t, ProgStat> prog_stats() {
    std::map<uint32_t, ProgStat> out;
    uint32_t id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0) continue;  // unloaded meanwhile
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
            ProgStat s;
            s.name = info.name;
            const char* t = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(info.type));
            s.type = t ? t : std::to_string(info.type);
            s.run_cnt = info.run_cnt;
            s.run_time_ns = info.run_time_ns;
            out[id] = s;
        }
        close(fd);
    }
    return out;
}

StatsEnabled::StatsEnabled() {
    fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd_ < 0)
        throw std::runtime_error(std::string("enable BPF run-time statistics: ") + std::strerror(errno));
}

StatsEnabled::~StatsEnabled() {
    if (fd_ >= 0) close(fd_);
}

}  // namespace bench
