// workload.h — the loops the benchmarks time: open/close, read and exec of
// things no rule matches, and the violation storm of the event pipeline.
#pragma once

#include <cstdint>
#include <string>

namespace bench {

enum class Workload { open, read, exec };
inline constexpr Workload kWorkloads[] = {Workload::open, Workload::read, Workload::exec};
const char* name(Workload w);

// Runs `ops` iterations of `w` on `target` (a file for open/read, a program
// for exec) in a fresh child process that first joins the cgroup v2
// directory `cgroup` ("" = stays put).  Returns nanoseconds per operation;
// throws when the child fails (e.g. an open that should succeed did not).
double run_loop(Workload w, const std::string& target, uint64_t ops, const std::string& cgroup);

// The violation storm: `procs` processes each open `path` `per_proc` times,
// paced together to `rate` opens per second (0: as fast as they can).
struct StormRun {
    uint64_t caused = 0;     // successful opens (each one is a violation event)
    double seconds = 0;      // first open to last open
};
StormRun run_storm(const std::string& path, int procs, uint64_t per_proc, double rate);

// How a child that opened `path` (read-only) ended: "killed" (SIGKILL),
// "denied" (the open failed with EPERM/EACCES) or "allowed".
std::string open_outcome(const std::string& path);

}  // namespace bench
