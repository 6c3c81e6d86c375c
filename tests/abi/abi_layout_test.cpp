// abi tier: every struct in bpf/bulwark_abi.h has the same size and member
// offsets in the BPF object's BTF (what clang laid out for the kernel side)
// as in this C++ build (what the daemon reads and writes).
#include <catch2/catch.hpp>

#include <cstddef>
#include <map>
#include <string>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bulwark_abi.h"

#ifndef BULWARK_BPF_OBJECT
#error "BULWARK_BPF_OBJECT must name the BPF object to check"
#endif

namespace {

struct Layout {
    size_t size;
    std::map<std::string, size_t> offsets;
};

#define MEMBER(type, m) {#m, offsetof(type, m)}

const std::map<std::string, Layout>& userspace_layouts() {
    static const std::map<std::string, Layout> layouts = {
        {"bw_file_key", {sizeof(bw_file_key), {MEMBER(bw_file_key, dev), MEMBER(bw_file_key, ino)}}},
        {"bw_file_rule",
         {sizeof(bw_file_rule),
          {MEMBER(bw_file_rule, action), MEMBER(bw_file_rule, rule_id), MEMBER(bw_file_rule, scope),
           MEMBER(bw_file_rule, flags), MEMBER(bw_file_rule, generation), MEMBER(bw_file_rule, _pad)}}},
        {"bw_name_key", {sizeof(bw_name_key), {MEMBER(bw_name_key, dev), MEMBER(bw_name_key, ino), MEMBER(bw_name_key, hash),
                                              MEMBER(bw_name_key, len), MEMBER(bw_name_key, pad)}}},
        {"bw_exec_allow", {sizeof(bw_exec_allow), {MEMBER(bw_exec_allow, allowlists), MEMBER(bw_exec_allow, generation),
                                                   MEMBER(bw_exec_allow, _pad)}}},
        {"bw_scope_mask", {sizeof(bw_scope_mask), {MEMBER(bw_scope_mask, scopes), MEMBER(bw_scope_mask, flags), MEMBER(bw_scope_mask, pad)}}},
        {"bw_gen_config",
         {sizeof(bw_gen_config),
          {MEMBER(bw_gen_config, magic), MEMBER(bw_gen_config, generation), MEMBER(bw_gen_config, n_allowlists),
           MEMBER(bw_gen_config, flags),
           MEMBER(bw_gen_config, allowlist_scope), MEMBER(bw_gen_config, allowlist_rule),
           MEMBER(bw_gen_config, allowlist_flags), MEMBER(bw_gen_config, rules_digest),
           MEMBER(bw_gen_config, unplaced)}}},
        {"bw_state", {sizeof(bw_state), {MEMBER(bw_state, magic), MEMBER(bw_state, active_slot), MEMBER(bw_state, generation),
                                        MEMBER(bw_state, abi)}}},
        {"bw_dir_filter", {sizeof(bw_dir_filter), {MEMBER(bw_dir_filter, words)}}},
        {"bw_counters",
         {sizeof(bw_counters),
          {MEMBER(bw_counters, events_emitted), MEMBER(bw_counters, events_lost), MEMBER(bw_counters, verdicts), MEMBER(bw_counters, dir_walk_truncated),
           MEMBER(bw_counters, kill_failed), MEMBER(bw_counters, bad_state), MEMBER(bw_counters, no_policy),
           MEMBER(bw_counters, scope_bind_failed)}}},
        {"bw_event",
         {sizeof(bw_event),
          {MEMBER(bw_event, size), MEMBER(bw_event, abi), MEMBER(bw_event, kind), MEMBER(bw_event, ts_boot_ns),
           MEMBER(bw_event, cgroup_id), MEMBER(bw_event, dev), MEMBER(bw_event, ino), MEMBER(bw_event, pid),
           MEMBER(bw_event, tid), MEMBER(bw_event, ppid), MEMBER(bw_event, uid), MEMBER(bw_event, gid),
           MEMBER(bw_event, verdict), MEMBER(bw_event, action), MEMBER(bw_event, rule_id),
           MEMBER(bw_event, generation), MEMBER(bw_event, flags), MEMBER(bw_event, open_flags),
           MEMBER(bw_event, op), MEMBER(bw_event, fd), MEMBER(bw_event, arg), MEMBER(bw_event, comm),
           MEMBER(bw_event, path)}}},
        {"bw_self", {sizeof(bw_self), {MEMBER(bw_self, tgid), MEMBER(bw_self, host_mnt_ns), MEMBER(bw_self, flags),
                                      MEMBER(bw_self, _pad), MEMBER(bw_self, exe), MEMBER(bw_self, pin_dev),
                                      MEMBER(bw_self, pin_dirs), MEMBER(bw_self, start_ticks)}}},
        {"bw_mount_guard", {sizeof(bw_mount_guard), {MEMBER(bw_mount_guard, rule_id), MEMBER(bw_mount_guard, action),
                                                     MEMBER(bw_mount_guard, flags), MEMBER(bw_mount_guard, _pad)}}},
        {"bw_mark", {sizeof(bw_mark), {MEMBER(bw_mark, generation), MEMBER(bw_mark, _pad)}}},
        {"bw_preexisting", {sizeof(bw_preexisting), {MEMBER(bw_preexisting, tgid), MEMBER(bw_preexisting, fd)}}},
        {"bw_content_change", {sizeof(bw_content_change), {MEMBER(bw_content_change, igen), MEMBER(bw_content_change, tgid)}}},
        {"bw_installed", {sizeof(bw_installed), {MEMBER(bw_installed, allowlists), MEMBER(bw_installed, igen),
                                                 MEMBER(bw_installed, generation)}}},
        {"bw_btrfs_layout", {sizeof(bw_btrfs_layout), {MEMBER(bw_btrfs_layout, known), MEMBER(bw_btrfs_layout, inode_vfs_inode),
                                                       MEMBER(bw_btrfs_layout, inode_root), MEMBER(bw_btrfs_layout, root_anon_dev)}}},
    };
    return layouts;
}

}  // namespace

TEST_CASE("ABI structs have one layout on both sides of the kernel boundary") {
    btf* obj_btf = btf__parse_elf(BULWARK_BPF_OBJECT, nullptr);
    REQUIRE(obj_btf != nullptr);
    for (const auto& [name, user] : userspace_layouts()) {
        INFO("struct " << name);
        const int id = btf__find_by_name_kind(obj_btf, name.c_str(), BTF_KIND_STRUCT);
        REQUIRE(id > 0);
        const btf_type* t = btf__type_by_id(obj_btf, static_cast<__u32>(id));
        CHECK(t->size == user.size);
        const btf_member* m = btf_members(t);
        std::map<std::string, size_t> kernel_offsets;
        for (unsigned i = 0; i < btf_vlen(t); ++i) {
            kernel_offsets[btf__name_by_offset(obj_btf, m[i].name_off)] = btf_member_bit_offset(t, i) / 8;
        }
        // Same members, same offsets: a field added on one side only fails here.
        CHECK(kernel_offsets == user.offsets);
    }
    btf__free(obj_btf);
}
