// map_writer.h — writes a MapImage (daemon/map_image.h) into the kernel's
// maps as a new generation and switches to it, so that no program ever sees
// a half-made generation or a slot being reused:
//
//   1. fill the slot no program can reach (bw_state points to the other one,
//      and a grace period has passed since it did): inner maps, filter, and
//      the slot's config last (its magic marks the slot complete)
//   2. switch: one update of bw_state
//   3. fence: wait for an RCU grace period (an update of bw_fence), after
//      which no program still runs on the old slot
//   4. release the old slot: its config is cleared and its inner maps are
//      taken out of the outer maps, so the kernel frees them at once
#pragma once

#include <cstdint>
#include <map>
#include <functional>
#include <optional>
#include <string>

#include "daemon/error.h"
#include "daemon/loader.h"
#include "daemon/map_image.h"
#include "policy/unique_fd.h"

namespace bulwark {

struct GenerationInfo {
    uint32_t generation = 0;
    uint32_t slot = 0;
    size_t file_entries = 0;
    size_t name_entries = 0;  // file rules bound to paths (bw_names)
    size_t exec_entries = 0;
    size_t scope_entries = 0;
    // Set when the switch happened but a later step (fence, release of the
    // old slot) failed: the new generation is in force, the old slot's maps
    // may stay allocated until the next write.
    std::string warning;
};

// bw_state as the kernel holds it, if it is one bulwarkd wrote.
std::optional<bw_state> read_valid_state(int state_fd, int config_fd);

class MapWriter {
public:
    // `adopted`: the state found in maps a previous bulwarkd left pinned
    // (the next generation continues its numbering, in its other slot).
    MapWriter(PolicyMapFds fds, std::optional<bw_state> adopted);

    // Steps 1-4 above.  On error before the switch nothing a program reads
    // has changed; the generation in force stays.
    // `late_scopes`, when given, is asked once the slot's bw_units is in
    // place (from then on the kernel binds new cgroups of those units) and
    // before the switch: the cgroups of a scope's units that exist now
    // (id -> scope bits).  Those the image lacks (created since the
    // compile) are bound too, so no cgroup of a unit misses its scope.
    using LateScopes = std::function<std::map<uint64_t, uint64_t>()>;
    Result<GenerationInfo> write(const MapImage& image, const LateScopes& late_scopes = {});
    // The same for the generation in force: after the programs are attached
    // at start-up (cgroups created between the write and the attach).
    Status bind_late_scopes(const LateScopes& late_scopes);

    uint32_t generation() const { return generation_; }
    uint32_t next_generation() const { return generation_ + 1; }
    // Waits for an RCU grace period (step 3).
    Status fence();
    // The inner maps of the generation in force, by outer map name
    // ("bw_files", ...), owned here until the next write.  bulwarkd keeps
    // these descriptors: reopening a map by its id takes CAP_SYS_ADMIN,
    // which bulwark.service does not have.
    std::map<std::string, int> active_inner_maps() const;

private:
    Status bind_missing(int scopes_fd, const std::map<uint64_t, uint64_t>& cgroups);
    Status release(uint32_t slot);

    PolicyMapFds fds_;
    uint32_t generation_ = 0;
    int active_slot_ = -1;
    bool fenced_ = true;  // no program can still run on the inactive slot
    UniqueFd fence_inner_;
    std::map<std::string, UniqueFd> active_inner_;
};

}  // namespace bulwark
