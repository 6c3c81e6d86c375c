// suite.h — the whole benchmark run in one place (natively, or inside the
// benchmark VM): hot path per configuration, BPF program costs, peers,
// reload and memory, the event storm.  Results go to a JSON file
// (bench/RESULTS-SCHEMA.md) that bench/report.py turns into
// docs/performance.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct Options {
    std::string bulwarkd;                  // the daemon under test
    std::string work = "/tmp/bulwark-bench";
    std::string out;                       // results file
    std::string where = "native";          // native | vm (recorded)
    std::string mode = "auto";             // bulwarkd's mode setting
    std::vector<size_t> sizes = {1000, 100'000, 1'000'000};
    std::vector<std::string> peers;        // auditd, fapolicyd, bpftrace
    bool machine_wide_peers = false;       // allow auditd/fapolicyd (VM only)
    int reps = 9;                          // samples per (config, workload)
    double scale = 1.0;                    // multiplies the operations per sample
    int reload_reps = 5;
    std::vector<double> storm_rates = {50'000, 100'000, 200'000, 400'000, 800'000, 0};
    uint64_t storm_events = 1'000'000;     // most events per storm step
    int storm_procs = 4;
    std::string exec_target = "/bin/true";
    bool skip_storm = false;
    std::vector<std::string> notes;        // recorded in env.notes
};

// Runs everything; returns the process exit status.
int run_suite(const Options& o);

}  // namespace bench
