// limits.h — bounds on the work the policy library does for one input.
//
// Policy files are read by a root daemon, so hostile or broken input must cost
// bounded time and memory.  Every limit is reported as an error with a
// location; none of them is ever hit by a policy a human would write.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulwark::policy::limits {

// Files larger than this are refused before parsing.
inline constexpr std::size_t max_file_bytes = 16u * 1024u * 1024u;
// Mappings and sequences nested deeper than this are refused.
inline constexpr int max_nesting = 64;
// A sequence (or mapping) with more entries than this is refused.
inline constexpr std::size_t max_list_entries = 1'000'000;
// After this many errors in one file, checking that file stops.
inline constexpr int max_errors_per_file = 100;
// Longest path accepted (PATH_MAX including the terminating NUL).
inline constexpr std::size_t max_path_bytes = 4095;
// Longest policy name.
inline constexpr std::size_t max_name_chars = 63;
// Scope bits 1..63 (bit 0 is the whole host): BW_MAX_SCOPES - 1.
inline constexpr uint32_t max_scopes = 63;
// Exec allowlists per compiled policy: BW_MAX_ALLOWLISTS.
inline constexpr uint32_t max_allowlists = 32;
// How many directory levels above a file the kernel looks for directory
// rules: BW_MAX_DIR_DEPTH.
inline constexpr uint32_t max_dir_depth = 32;
// How deep below the cgroup2 root a unit's cgroup is searched.
inline constexpr int max_unit_search_depth = 8;

}  // namespace bulwark::policy::limits
