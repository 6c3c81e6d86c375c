#include "daemon/map_writer.h"

#include <string>
#include <vector>

#include <bpf/bpf.h>

#include "bulwark_abi.h"

namespace bulwark {
namespace {

Result<UniqueFd> create_hash(const char* name, uint32_t key_size, uint32_t value_size, size_t entries) {
    const auto max = static_cast<uint32_t>(std::max<size_t>(entries, 1));
    int fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, key_size, value_size, max, nullptr);
    if (fd < 0) return Error{std::string("create map ") + name + " (" + std::to_string(max) + " entries)", -fd};
    return UniqueFd(fd);
}

template <typename K, typename V>
Status fill(const UniqueFd& map, const char* name, const std::vector<K>& keys, const std::vector<V>& values) {
    if (keys.empty()) return std::nullopt;
    uint32_t count = static_cast<uint32_t>(keys.size());
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
    int err = bpf_map_update_batch(map.get(), keys.data(), values.data(), &count, &opts);
    if (err == 0) return std::nullopt;
    if (err != -EINVAL && err != -524 /* ENOTSUPP */ && err != -EOPNOTSUPP)
        return Error{std::string("fill map ") + name, -err};
    // Kernels without batch ops on hash maps: one element at a time.
    for (size_t i = 0; i < keys.size(); ++i) {
        if (int e = bpf_map_update_elem(map.get(), &keys[i], &values[i], BPF_ANY); e)
            return Error{std::string("fill map ") + name, -e};
    }
    return std::nullopt;
}

}  // namespace

std::optional<bw_state> read_valid_state(int state_fd, int config_fd) {
    const uint32_t zero = 0;
    bw_state st{};
    if (bpf_map_lookup_elem(state_fd, &zero, &st) != 0) return std::nullopt;
    if (st.magic != BW_STATE_MAGIC || st.active_slot >= BW_SLOTS || st.generation == 0) return std::nullopt;
    bw_gen_config cfg{};
    if (bpf_map_lookup_elem(config_fd, &st.active_slot, &cfg) != 0) return std::nullopt;
    if (cfg.magic != BW_STATE_MAGIC || cfg.generation != st.generation) return std::nullopt;
    return st;
}

MapWriter::MapWriter(PolicyMapFds fds, std::optional<bw_state> adopted) : fds_(fds) {
    if (adopted) {
        generation_ = adopted->generation;
        active_slot_ = static_cast<int>(adopted->active_slot);
        // The bulwarkd that switched last may have died before its fence.
        fenced_ = false;
    }
}

Status MapWriter::fence() {
    if (!fence_inner_.valid()) {
        int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_fence_in", 4, 4, 1, nullptr);
        if (fd < 0) return Error{"create map bw_fence_in", -fd};
        fence_inner_.reset(fd);
    }
    const uint32_t zero = 0;
    int inner = fence_inner_.get();
    // The kernel returns from this update only after an RCU grace period.
    if (int e = bpf_map_update_elem(fds_.fence, &zero, &inner, BPF_ANY); e) return Error{"update bw_fence", -e};
    fenced_ = true;
    return std::nullopt;
}

Status MapWriter::release(uint32_t slot) {
    const bw_gen_config empty{};
    if (int e = bpf_map_update_elem(fds_.config, &slot, &empty, BPF_ANY); e)
        return Error{"clear bw_config[" + std::to_string(slot) + "]", -e};
    for (auto [outer, name] : {std::pair{fds_.files_outer, "bw_files"}, std::pair{fds_.names_outer, "bw_names"},
                               std::pair{fds_.exec_outer, "bw_exec"},
                               std::pair{fds_.scopes_outer, "bw_scopes"},
                               std::pair{fds_.mounts_outer, "bw_mounts"}, std::pair{fds_.units_outer, "bw_units"}}) {
        int e = bpf_map_delete_elem(outer, &slot);
        if (e && e != -ENOENT) return Error{std::string("release ") + name + "[" + std::to_string(slot) + "]", -e};
    }
    return std::nullopt;
}

Status MapWriter::bind_missing(int scopes_fd, const std::map<uint64_t, uint64_t>& cgroups) {
    for (const auto& [id, bits] : cgroups) {
        bw_scope_mask m{};
        if (bpf_map_lookup_elem(scopes_fd, &id, &m) == 0) continue;  // compiled, or bound by the kernel
        m = bw_scope_mask{bits, BW_SCOPE_F_LIVE, 0};
        if (int e = bpf_map_update_elem(scopes_fd, &id, &m, BPF_NOEXIST); e && e != -EEXIST)
            return Error{"bind cgroup " + std::to_string(id) + " in bw_scopes", -e};
    }
    return std::nullopt;
}

Status MapWriter::bind_late_scopes(const LateScopes& late_scopes) {
    const auto it = active_inner_.find("bw_scopes");
    if (it == active_inner_.end()) return std::nullopt;  // nothing written by this bulwarkd yet
    return bind_missing(it->second.get(), late_scopes());
}

std::map<std::string, int> MapWriter::active_inner_maps() const {
    std::map<std::string, int> out;
    for (const auto& [name, fd] : active_inner_) out.emplace(name, fd.get());
    return out;
}

Result<GenerationInfo> MapWriter::write(const MapImage& img, const LateScopes& late_scopes) {
    if (img.generation != next_generation())
        return Error{"image of generation " + std::to_string(img.generation) + ", expected " +
                         std::to_string(next_generation()),
                     EINVAL};
    const uint32_t slot = active_slot_ < 0 ? 0 : static_cast<uint32_t>(1 - active_slot_);
    GenerationInfo info;
    info.generation = img.generation;
    info.slot = slot;
    info.file_entries = img.file_keys.size();
    info.name_entries = img.name_keys.size();
    info.exec_entries = img.exec_keys.size();
    info.scope_entries = img.scope_keys.size();

    // 1. The slot must be out of every program's reach before it is touched.
    if (!fenced_)
        if (auto e = fence()) return *e;
    const bw_gen_config incomplete{};
    if (int e = bpf_map_update_elem(fds_.config, &slot, &incomplete, BPF_ANY); e)
        return Error{"clear bw_config[" + std::to_string(slot) + "]", -e};

    auto files = create_hash("bw_files_g", sizeof(bw_file_key), sizeof(bw_file_rule), img.file_keys.size());
    if (!files) return files.error();
    auto namem = create_hash("bw_names_g", sizeof(bw_name_key), sizeof(bw_file_rule), img.name_keys.size());
    if (!namem) return namem.error();
    auto execm = create_hash("bw_exec_g", sizeof(bw_file_key), sizeof(bw_exec_allow), img.exec_keys.size());
    if (!execm) return execm.error();
    // Room for the cgroups a scope's units get after the compile.
    const size_t live_room = img.unit_keys.empty() ? 0 : BW_LIVE_SCOPE_IDS;
    auto scopem = create_hash("bw_scopes_g", sizeof(uint64_t), sizeof(bw_scope_mask),
                              img.scope_keys.size() + live_room);
    if (!scopem) return scopem.error();
    auto unitm = create_hash("bw_units_g", sizeof(bw_unit_key), sizeof(bw_scope_mask), img.unit_keys.size());
    if (!unitm) return unitm.error();
    auto mountm = create_hash("bw_mounts_g", sizeof(bw_file_key), sizeof(bw_mount_guard), img.mount_keys.size());
    if (!mountm) return mountm.error();
    if (auto e = fill(*files, "bw_files_g", img.file_keys, img.file_rules)) return *e;
    if (auto e = fill(*namem, "bw_names_g", img.name_keys, img.name_rules)) return *e;
    if (auto e = fill(*execm, "bw_exec_g", img.exec_keys, img.exec_allows)) return *e;
    if (auto e = fill(*scopem, "bw_scopes_g", img.scope_keys, img.scope_masks)) return *e;
    if (auto e = fill(*unitm, "bw_units_g", img.unit_keys, img.unit_masks)) return *e;
    if (auto e = fill(*mountm, "bw_mounts_g", img.mount_keys, img.mount_guards)) return *e;

    struct {
        int outer;
        int inner;
        const char* name;
    } inner_maps[] = {{fds_.files_outer, files->get(), "bw_files"},
                      {fds_.names_outer, namem->get(), "bw_names"},
                      {fds_.exec_outer, execm->get(), "bw_exec"},
                      {fds_.scopes_outer, scopem->get(), "bw_scopes"},
                      {fds_.mounts_outer, mountm->get(), "bw_mounts"},
                      // after bw_scopes: a program that sees these names binds into that map
                      {fds_.units_outer, unitm->get(), "bw_units"}};
    for (auto& s : inner_maps) {
        int inner = s.inner;
        if (int e = bpf_map_update_elem(s.outer, &slot, &inner, BPF_ANY); e)
            return Error{std::string("install inner map in ") + s.name + "[" + std::to_string(slot) + "]", -e};
    }
    if (late_scopes && !img.unit_keys.empty())
        if (auto e = bind_missing(scopem->get(), late_scopes())) return *e;
    if (int e = bpf_map_update_elem(fds_.dir_filter, &slot, img.filter.get(), BPF_ANY); e)
        return Error{"write bw_dir_filter[" + std::to_string(slot) + "]", -e};
    // Last: the config with its magic, which makes the slot complete.
    if (int e = bpf_map_update_elem(fds_.config, &slot, &img.config, BPF_ANY); e)
        return Error{"write bw_config[" + std::to_string(slot) + "]", -e};

    // 2. The switch: one update of bw_state.
    const uint32_t zero = 0;
    const bw_state st{BW_STATE_MAGIC, slot, img.generation, BW_ABI_VERSION};
    if (int e = bpf_map_update_elem(fds_.state, &zero, &st, BPF_ANY); e)
        return Error{"switch bw_state to slot " + std::to_string(slot), -e};
    const int old = active_slot_;
    active_slot_ = static_cast<int>(slot);
    generation_ = img.generation;
    fenced_ = false;
    active_inner_.clear();
    active_inner_.emplace("bw_files", std::move(*files));
    active_inner_.emplace("bw_names", std::move(*namem));
    active_inner_.emplace("bw_exec", std::move(*execm));
    active_inner_.emplace("bw_scopes", std::move(*scopem));
    active_inner_.emplace("bw_units", std::move(*unitm));
    active_inner_.emplace("bw_mounts", std::move(*mountm));

    // 3. + 4. No program runs on the old slot any more: free it.  A failure
    // here leaves the new generation in force and is reported.
    Status late = fence();
    if (!late && old >= 0) late = release(static_cast<uint32_t>(old));
    if (late) info.warning = late->to_string();
    return info;
}

}  // namespace bulwark
