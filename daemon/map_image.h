// map_image.h — a compiled policy as the kernel's maps will hold it: the
// pure step between policy/ and the map writer.  No syscalls, no libbpf:
// unit-tested (tests/unit/map_image_test.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "bulwark_abi.h"
#include "daemon/error.h"
#include "policy/policy.h"

namespace bulwark {

// One generation's content, keyed and ordered as it goes into the maps.
struct MapImage {
    uint32_t generation = 0;
    std::vector<bw_file_key> file_keys;   // bw_files inner map
    std::vector<bw_file_rule> file_rules;
    std::vector<bw_name_key> name_keys;   // bw_names inner map (rules bound to paths)
    std::vector<bw_file_rule> name_rules;
    std::vector<bw_file_key> exec_keys;   // bw_exec inner map
    std::vector<bw_exec_allow> exec_allows;
    std::vector<bw_file_key> mount_keys;  // bw_mounts inner map
    std::vector<bw_mount_guard> mount_guards;
    std::vector<uint64_t> scope_keys;     // bw_scopes inner map (cgroup v2 ids)
    std::vector<bw_scope_mask> scope_masks;
    std::vector<bw_unit_key> unit_keys;   // bw_units inner map (unit names of scopes)
    std::vector<bw_scope_mask> unit_masks;
    bw_gen_config config{};               // bw_config[slot]; magic set: the slot is complete
    std::unique_ptr<bw_dir_filter> filter = std::make_unique<bw_dir_filter>();  // bw_dir_filter[slot]
};

// SHA-256 of what a record's rule_id means in `compiled`: per rule its id,
// kind, policy, mode, path as written and scope bit.
std::array<uint8_t, 32> rules_digest(const policy::CompiledPolicy& compiled);

// bw_name_hash of one path component, as bpf/walk.bpf.h computes it from
// a dentry's name.
uint64_t name_hash(std::string_view name);

// The kernel's action for a file rule kind (BW_ACT_NONE for exec allowlists).
uint32_t kernel_action(policy::RuleKind kind);

// The image of `compiled` as generation `generation` (> 0).  Errors when the
// policy does not fit the kernel's fixed limits (allowlists, scope bits).
Result<MapImage> build_map_image(const policy::CompiledPolicy& compiled, uint32_t generation);

}  // namespace bulwark
