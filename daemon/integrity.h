// integrity.h — does the kernel still hold what bulwarkd wrote?
//
// Root can change BPF maps with plain bpf() calls: switch bw_state to
// another slot, empty a generation's maps, overwrite bw_self.  bulwarkd
// remembers what it wrote for the generation in force (bw_state, the
// slot's config and directory filter, the ids of the slot's inner maps and
// an evenly spread sample of their entries, bw_self, the program behind
// each of its links) and compares, cheaply, every few seconds and before
// every `status` answer.  What differs is named; the daemon then restores
// its policy as a new generation and reports TAMPERED (daemon.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bulwark_abi.h"
#include "daemon/loader.h"
#include "daemon/map_image.h"

namespace bulwark {

class IntegrityGuard {
public:
    explicit IntegrityGuard(PolicyMapFds fds) : fds_(fds) {}
    // After each successful switch to `img` in `slot`.  `inner_maps`: the
    // slot's inner maps by outer map name (MapWriter::active_inner_maps(),
    // borrowed: they stay open while the generation is in force).
    void expect_generation(const MapImage& img, uint32_t slot, const std::map<std::string, int>& inner_maps);
    // After attach (or adoption): the program each link runs.
    void expect_links(const std::vector<NamedFd>& links);
    void expect_self(const bw_self& self) { self_ = self; }
    // What differs from what bulwarkd wrote (empty: intact).
    std::vector<std::string> check() const;

private:
    struct Sample {
        std::string name;  // "bw_files", ...
        int outer = -1;
        int inner_fd = -1;  // borrowed from the map writer
        uint32_t inner_id = 0;
        uint32_t key_size = 0, value_size = 0;
        std::vector<uint8_t> keys, values;  // sampled entries, back to back
    };
    PolicyMapFds fds_;
    bool armed_ = false;
    bw_state state_{};
    bw_gen_config config_{};
    bw_dir_filter filter_{};
    bw_self self_{};
    std::vector<Sample> samples_;
    std::vector<std::pair<NamedFd, uint32_t>> links_;  // link, the id of its program
};

}  // namespace bulwark
