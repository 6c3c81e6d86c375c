#include "daemon/integrity.h"

#include <cstring>

#include <bpf/bpf.h>


namespace bulwark {
namespace {

constexpr size_t kSampleSize = 32;  // entries compared per inner map and check

template <typename K, typename V>
void take_sample(std::vector<uint8_t>& keys, std::vector<uint8_t>& values, const std::vector<K>& ks,
                 const std::vector<V>& vs) {
    const size_t n = ks.size();
    const size_t step = n <= kSampleSize ? 1 : n / kSampleSize;
    for (size_t i = 0; i < n && keys.size() / sizeof(K) < kSampleSize; i += step) {
        const auto* k = reinterpret_cast<const uint8_t*>(&ks[i]);
        const auto* v = reinterpret_cast<const uint8_t*>(&vs[i]);
        keys.insert(keys.end(), k, k + sizeof(K));
        values.insert(values.end(), v, v + sizeof(V));
    }
}

}  // namespace

void IntegrityGuard::expect_generation(const MapImage& img, uint32_t slot,
                                       const std::map<std::string, int>& inner_maps) {
    state_ = bw_state{BW_STATE_MAGIC, slot, img.generation, BW_ABI_VERSION};
    config_ = img.config;
    filter_ = *img.filter;
    samples_.clear();
    auto add = [&](const char* name, int outer, uint32_t ks, uint32_t vs, auto& keys, auto& values) {
        const auto it = inner_maps.find(name);
        Sample s{name, outer, it == inner_maps.end() ? -1 : it->second, 0, ks, vs, {}, {}};
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (s.inner_fd >= 0 && bpf_obj_get_info_by_fd(s.inner_fd, &info, &len) == 0)
            s.inner_id = info.id;  // 0 when it could not be read: reported by check()
        take_sample(s.keys, s.values, keys, values);
        samples_.push_back(std::move(s));
    };
    add("bw_files", fds_.files_outer, sizeof(bw_file_key), sizeof(bw_file_rule), img.file_keys, img.file_rules);
    add("bw_names", fds_.names_outer, sizeof(bw_name_key), sizeof(bw_file_rule), img.name_keys, img.name_rules);
    add("bw_exec", fds_.exec_outer, sizeof(bw_file_key), sizeof(bw_exec_allow), img.exec_keys, img.exec_allows);
    add("bw_scopes", fds_.scopes_outer, sizeof(uint64_t), sizeof(bw_scope_mask), img.scope_keys, img.scope_masks);
    add("bw_units", fds_.units_outer, sizeof(bw_unit_key), sizeof(bw_scope_mask), img.unit_keys, img.unit_masks);
    add("bw_mounts", fds_.mounts_outer, sizeof(bw_file_key), sizeof(bw_mount_guard), img.mount_keys,
        img.mount_guards);
    armed_ = true;
}

void IntegrityGuard::expect_links(const std::vector<NamedFd>& links) {
    links_.clear();
    for (const auto& l : links) {
        bpf_link_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(l.fd, &info, &len) == 0) links_.push_back({l, info.prog_id});
    }
}

std::vector<std::string> IntegrityGuard::check() const {
    std::vector<std::string> out;
    if (!armed_) return out;
    const uint32_t zero = 0;
    bw_state st{};
    if (bpf_map_lookup_elem(fds_.state, &zero, &st) != 0)
        out.push_back("bw_state cannot be read");
    else if (std::memcmp(&st, &state_, sizeof(st)) != 0)
        out.push_back("bw_state says slot " + std::to_string(st.active_slot) + ", generation " +
                      std::to_string(st.generation) + " (magic " + (st.magic == BW_STATE_MAGIC ? "ok" : "wrong") +
                      "); bulwarkd wrote slot " + std::to_string(state_.active_slot) + ", generation " +
                      std::to_string(state_.generation));
    const uint32_t slot = state_.active_slot;
    bw_gen_config cfg{};
    if (bpf_map_lookup_elem(fds_.config, &slot, &cfg) != 0 || std::memcmp(&cfg, &config_, sizeof(cfg)) != 0)
        out.push_back("bw_config[" + std::to_string(slot) + "] was changed");
    bw_dir_filter flt{};
    if (bpf_map_lookup_elem(fds_.dir_filter, &slot, &flt) != 0 || std::memcmp(&flt, &filter_, sizeof(flt)) != 0)
        out.push_back("bw_dir_filter[" + std::to_string(slot) + "] was changed");
    bw_self self{};
    if (bpf_map_lookup_elem(fds_.self, &zero, &self) != 0 || std::memcmp(&self, &self_, sizeof(self)) != 0)
        out.push_back("bw_self no longer names this bulwarkd");
    for (const auto& s : samples_) {
        uint32_t id = 0;
        if (bpf_map_lookup_elem(s.outer, &slot, &id) != 0 || id != s.inner_id || id == 0) {
            out.push_back(s.name + "[" + std::to_string(slot) + "] holds another map than the one bulwarkd wrote");
            continue;
        }
        std::vector<uint8_t> value(s.value_size);
        size_t differ = 0, n = s.keys.size() / s.key_size;
        for (size_t i = 0; i < n; ++i) {
            if (bpf_map_lookup_elem(s.inner_fd, &s.keys[i * s.key_size], value.data()) != 0 ||
                std::memcmp(value.data(), &s.values[i * s.value_size], s.value_size) != 0)
                ++differ;
        }
        if (differ)
            out.push_back(s.name + "[" + std::to_string(slot) + "]: " + std::to_string(differ) + " of " +
                          std::to_string(n) + " sampled entries are missing or changed");
    }
    for (const auto& [link, prog_id] : links_) {
        bpf_link_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(link.fd, &info, &len) != 0 || info.prog_id != prog_id)
            out.push_back("link of " + link.name + " no longer runs bulwarkd's program");
    }
    return out;
}

}  // namespace bulwark
