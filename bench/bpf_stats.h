// bpf_stats.h — the kernel's own cost accounting of BPF programs
// (kernel.bpf_stats_enabled: run_cnt and run_time_ns per program).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace bench {

struct ProgStat {
    std::string name;
    std::string type;  // lsm, tracing (tp_btf), tracepoint, ...
    uint64_t run_cnt = 0;
    uint64_t run_time_ns = 0;
};

// Every BPF program loaded now, by id.
std::map<uint32_t, ProgStat> prog_stats();

// Run-time statistics switched on for as long as this object lives
// (BPF_ENABLE_STATS: they cost two clock reads per program run, so the
// timed samples run without them).
class StatsEnabled {
public:
    StatsEnabled();
    ~StatsEnabled();
    StatsEnabled(const StatsEnabled&) = delete;
    StatsEnabled& operator=(const StatsEnabled&) = delete;

private:
    int fd_ = -1;
};

}  // namespace bench
