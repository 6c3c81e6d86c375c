#include "daemon/map_writer.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <bpf/bpf.h>

#include "bulwark_abi.h"

namespace bulwark {
namespace {

// An owned map fd.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) close(fd_);
    }
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

Result<Fd> create_hash(const char* name, uint32_t key_size, uint32_t value_size, size_t entries) {
    const auto max = static_cast<uint32_t>(std::max<size_t>(entries, 1));
    int fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, key_size, value_size, max, nullptr);
    if (fd < 0) return Error{std::string("create map ") + name + " (" + std::to_string(max) + " entries)", -fd};
    return Fd(fd);
}

template <typename K, typename V>
Status fill(const Fd& map, const char* name, const std::vector<K>& keys, const std::vector<V>& values) {
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

uint32_t action_of(policy::RuleKind k) {
    switch (k) {
        case policy::RuleKind::protect_write: return BW_ACT_DENY_WRITE;
        case policy::RuleKind::protect_all: return BW_ACT_DENY_ALL;
        case policy::RuleKind::kill_on_open: return BW_ACT_KILL;
        case policy::RuleKind::exec_allowlist: return BW_ACT_NONE;
    }
    return BW_ACT_NONE;
}

}  // namespace

Result<GenerationInfo> MapWriter::apply(const policy::CompiledPolicy& compiled) {
    if (compiled.allowlists.size() > BW_MAX_ALLOWLISTS)
        return Error{"too many exec allowlists (" + std::to_string(compiled.allowlists.size()) + ", at most " +
                         std::to_string(BW_MAX_ALLOWLISTS) + ")",
                     E2BIG};
    const uint32_t slot = active_slot_ < 0 ? 0 : static_cast<uint32_t>(1 - active_slot_);
    const uint32_t generation = generation_ + 1;
    GenerationInfo info{generation, slot, 0, 0, 0};

    // Files.
    std::vector<bw_file_key> fkeys;
    std::vector<bw_file_rule> fvals;
    for (const auto& f : compiled.files) {
        fkeys.push_back({f.id.dev, f.id.ino});
        fvals.push_back({action_of(f.kind), f.rule_id, f.scope, f.audit ? BW_RULE_AUDIT : 0u});
    }
    info.file_entries = fkeys.size();
    bool file_dirs = false;
    for (const auto& f : compiled.files) file_dirs = file_dirs || f.directory;

    // Exec allowlists: one entry per identity, with the bits of every allowlist holding it.
    std::map<policy::FileIdentity, uint64_t> exec;
    bw_gen_config cfg{};
    cfg.generation = generation;
    cfg.n_allowlists = static_cast<uint32_t>(compiled.allowlists.size());
    for (const auto& a : compiled.allowlists) {
        if (a.index >= BW_MAX_ALLOWLISTS) return Error{"allowlist index out of range", ERANGE};
        cfg.allowlist_scope[a.index] = a.scope;
        cfg.allowlist_rule[a.index] = a.rule_id;
        cfg.allowlist_flags[a.index] = a.audit ? BW_RULE_AUDIT : 0u;
        for (size_t i = 0; i < a.files.size(); ++i) {
            exec[a.files[i]] |= 1ull << a.index;
            if (i < a.directories.size() && a.directories[i]) cfg.flags |= BW_CFG_EXEC_DIRS;
        }
    }
    if (file_dirs) cfg.flags |= BW_CFG_FILE_DIRS;

    // The directory filter: every directory identity of either map.
    auto filter = std::make_unique<bw_dir_filter>();
    auto mark = [&](uint64_t dev, uint64_t ino) {
        const uint32_t bit = bw_dir_filter_bit(dev, ino);
        filter->words[bit / 64] |= uint64_t{1} << (bit % 64);
    };
    for (const auto& f : compiled.files)
        if (f.directory) mark(f.id.dev, f.id.ino);
    for (const auto& a : compiled.allowlists)
        for (size_t i = 0; i < a.files.size() && i < a.directories.size(); ++i)
            if (a.directories[i]) mark(a.files[i].dev, a.files[i].ino);
    if (!fkeys.empty()) cfg.flags |= BW_CFG_FILES;
    std::vector<bw_file_key> ekeys;
    std::vector<bw_exec_allow> evals;
    for (const auto& [id, bits] : exec) {
        ekeys.push_back({id.dev, id.ino});
        evals.push_back({bits});
    }
    info.exec_entries = ekeys.size();

    // Scopes: cgroup id -> bits of the scopes it starts.
    std::map<uint64_t, uint64_t> scopes;
    for (const auto& s : compiled.scopes) {
        if (s.bit == BW_SCOPE_HOST || s.bit >= BW_MAX_SCOPES) return Error{"scope bit out of range", ERANGE};
        for (uint64_t cg : s.cgroup_ids) scopes[cg] |= 1ull << s.bit;
    }
    std::vector<uint64_t> skeys;
    std::vector<bw_scope_mask> svals;
    for (const auto& [cg, bits] : scopes) {
        skeys.push_back(cg);
        svals.push_back({bits});
    }
    info.scope_entries = skeys.size();

    // Build the new generation completely before the kernel can see any of it.
    auto files = create_hash("bw_files_g", sizeof(bw_file_key), sizeof(bw_file_rule), fkeys.size());
    if (!files) return files.error();
    auto execm = create_hash("bw_exec_g", sizeof(bw_file_key), sizeof(bw_exec_allow), ekeys.size());
    if (!execm) return execm.error();
    auto scopem = create_hash("bw_scopes_g", sizeof(uint64_t), sizeof(bw_scope_mask), skeys.size());
    if (!scopem) return scopem.error();
    if (auto e = fill(*files, "bw_files_g", fkeys, fvals)) return *e;
    if (auto e = fill(*execm, "bw_exec_g", ekeys, evals)) return *e;
    if (auto e = fill(*scopem, "bw_scopes_g", skeys, svals)) return *e;

    // Wire it into the inactive slot (programs only read the active one).
    struct {
        int outer;
        int inner;
        const char* name;
    } slots[] = {{fds_.files_outer, files->get(), "bw_files"},
                 {fds_.exec_outer, execm->get(), "bw_exec"},
                 {fds_.scopes_outer, scopem->get(), "bw_scopes"}};
    for (auto& s : slots) {
        int inner = s.inner;
        if (int e = bpf_map_update_elem(s.outer, &slot, &inner, BPF_ANY); e)
            return Error{std::string("install inner map in ") + s.name + "[" + std::to_string(slot) + "]", -e};
    }
    if (int e = bpf_map_update_elem(fds_.config, &slot, &cfg, BPF_ANY); e)
        return Error{"write bw_config[" + std::to_string(slot) + "]", -e};
    if (int e = bpf_map_update_elem(fds_.dir_filter, &slot, filter.get(), BPF_ANY); e)
        return Error{"write bw_dir_filter[" + std::to_string(slot) + "]", -e};

    // The switch: one update of a single 4-byte field.
    const uint32_t zero = 0;
    bw_state st{slot, 0};
    if (int e = bpf_map_update_elem(fds_.state, &zero, &st, BPF_ANY); e)
        return Error{"switch bw_state to slot " + std::to_string(slot), -e};

    active_slot_ = static_cast<int>(slot);
    generation_ = generation;
    return info;
}

}  // namespace bulwark
