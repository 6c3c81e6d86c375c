// peers.h — the tools people use today, set up to enforce (or watch) the
// equivalent of bulwark's realistic policy, for a side-by-side comparison:
//   auditd     watch rules (-w PATH -p rwa) on every file and directory
//   fapolicyd  deny rules on the same files, the same exec allowlist
//   bpftrace   the classic kill-on-open: sys_enter_openat + path compare + SIGKILL
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "bench/fixture.h"

namespace bench {

struct PeerInfo {
    std::string description;
    size_t rules = 0;
};

class RunningPeer {
public:
    virtual ~RunningPeer() = default;
    virtual const PeerInfo& info() const = 0;
};

// Starts peer `name` with the equivalent of `policy` and returns once it is
// seen enforcing (a denied open, a killed opener, an audit record), or
// throws with the reason.  fapolicyd and auditd take over machine-wide
// state (/etc/fapolicyd, the kernel's audit rules): they are only started
// when `machine_wide_ok` (the benchmark VM), else this throws.
std::unique_ptr<RunningPeer> start_peer(const std::string& name, Fixture& fx, const PolicySet& policy,
                                        bool machine_wide_ok);

}  // namespace bench
