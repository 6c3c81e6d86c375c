// bulwark-bench — what bulwark costs on open, read and exec, how it scales
// with the policy's size, and how it compares with auditd, fapolicyd and a
// bpftrace kill-on-open script.  `sudo bench/run.sh` runs it natively and in
// the benchmark VM and writes docs/performance.md (bench/README.md).
#include <unistd.h>

#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "bench/suite.h"

namespace {

template <typename T>
std::vector<T> split_list(const std::string& s) {
    std::vector<T> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) {
            std::stringstream v(item);
            T x{};
            v >> x;
            out.push_back(x);
        }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Options o;
    std::string sizes = "1000,100000,1000000", peers, rates = "50000,100000,200000,400000,800000,0";
    CLI::App app{"bulwark-bench: the benchmark suite (run as root; see bench/README.md)"};
    app.add_option("--bulwarkd", o.bulwarkd, "the bulwarkd binary under test")->required();
    app.add_option("--work", o.work, "directory for the benchmark's tmpfs")->capture_default_str();
    app.add_option("--out", o.out, "results file (JSON); without it, results go to stdout");
    app.add_option("--where", o.where, "recorded run place")->check(CLI::IsMember({"native", "vm"}))->capture_default_str();
    app.add_option("--mode", o.mode, "bulwarkd's mode setting")->check(CLI::IsMember({"auto", "lsm", "tracepoint"}))->capture_default_str();
    app.add_option("--sizes", sizes, "policy sizes in rules, comma-separated (1000 = the realistic policy)")->capture_default_str();
    app.add_option("--peers", peers, "peers to compare: auditd,fapolicyd,bpftrace");
    app.add_flag("--machine-wide-peers", o.machine_wide_peers,
                 "allow peers that change machine-wide state (auditd, fapolicyd): the benchmark VM only");
    app.add_option("--reps", o.reps, "samples per configuration and workload")->check(CLI::Range(1, 1000))->capture_default_str();
    app.add_option("--scale", o.scale, "multiplies the operations per sample")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--reload-reps", o.reload_reps, "reloads timed per policy size")->check(CLI::Range(1, 100))->capture_default_str();
    app.add_option("--storm-rates", rates, "offered violation rates per storm step (opens/s, 0 = as fast as possible)")->capture_default_str();
    app.add_option("--storm-events", o.storm_events, "most violations per storm step")->capture_default_str();
    app.add_option("--storm-procs", o.storm_procs, "processes causing the storm")->check(CLI::Range(1, 256))->capture_default_str();
    app.add_option("--exec", o.exec_target, "program the exec loop runs")->capture_default_str();
    app.add_flag("--skip-storm", o.skip_storm, "leave out the event storm");
    app.add_option("--note", o.notes, "a line for the results' notes (repeatable)");
    CLI11_PARSE(app, argc, argv);
    o.sizes = split_list<size_t>(sizes);
    o.peers = split_list<std::string>(peers);
    o.storm_rates = split_list<double>(rates);
    if (geteuid() != 0) {
        std::cerr << "bulwark-bench: must run as root (it starts bulwarkd and loads BPF programs)\n";
        return 2;
    }
    try {
        return bench::run_suite(o);
    } catch (const std::exception& e) {
        std::cerr << "bulwark-bench: " << e.what() << "\n";
        return 1;
    }
}
