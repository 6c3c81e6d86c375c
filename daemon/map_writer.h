// map_writer.h — turns a compiled policy into a new generation of BPF maps
// and switches the kernel to it in one map update.
#pragma once

#include <cstdint>
#include <memory>

#include "daemon/error.h"
#include "daemon/loader.h"
#include "policy/policy.h"

namespace bulwark {

struct GenerationInfo {
    uint32_t generation = 0;
    uint32_t slot = 0;
    size_t file_entries = 0;
    size_t exec_entries = 0;
    size_t scope_entries = 0;
};

class MapWriter {
public:
    explicit MapWriter(PolicyMapFds fds) : fds_(fds) {}

    // Builds every inner map of the inactive slot from `compiled`, writes the
    // slot's settings, then flips the active slot.  On error nothing the
    // kernel reads has changed.
    Result<GenerationInfo> apply(const policy::CompiledPolicy& compiled);

    uint32_t generation() const { return generation_; }

private:
    PolicyMapFds fds_;
    uint32_t generation_ = 0;
    int active_slot_ = -1;
};

}  // namespace bulwark
