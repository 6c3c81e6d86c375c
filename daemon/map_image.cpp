#include "daemon/map_image.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include <openssl/evp.h>

namespace bulwark {

uint32_t kernel_action(policy::RuleKind kind) {
    switch (kind) {
        case policy::RuleKind::protect_write: return BW_ACT_DENY_WRITE;
        case policy::RuleKind::protect_all: return BW_ACT_DENY_ALL;
        case policy::RuleKind::kill_on_open: return BW_ACT_KILL;
        case policy::RuleKind::exec_allowlist: return BW_ACT_NONE;
    }
    return BW_ACT_NONE;
}

uint64_t name_hash(std::string_view name) {
    uint64_t h = BW_NAME_HASH_SEED;
    for (size_t off = 0; off < name.size(); off += 8) {
        uint64_t word = 0;  // little-endian, zero-padded: the kernel's probe read of the same bytes
        std::memcpy(&word, name.data() + off, std::min<size_t>(8, name.size() - off));
        h = bw_name_mix(h, word);
    }
    return bw_name_mix(h, name.size());
}

std::array<uint8_t, 32> rules_digest(const policy::CompiledPolicy& compiled) {
    std::string text;
    for (const auto& r : compiled.rules) {
        // NUL-separated fields, one rule per line: unambiguous.
        text += std::to_string(r.id) + '\0' + std::string(policy::to_string(r.kind)) + '\0' + r.policy + '\0' +
                std::string(policy::to_string(r.mode)) + '\0' + r.path + '\0' + std::to_string(r.scope) + '\n';
    }
    std::array<uint8_t, 32> out{};
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

Result<MapImage> build_map_image(const policy::CompiledPolicy& compiled, uint32_t generation) {
    if (generation == 0) return Error{"generation 0 is reserved for \"none\"", EINVAL};
    if (compiled.allowlists.size() > BW_MAX_ALLOWLISTS)
        return Error{"too many exec allowlists (" + std::to_string(compiled.allowlists.size()) + ", at most " +
                         std::to_string(BW_MAX_ALLOWLISTS) + ")",
                     E2BIG};
    MapImage img;
    img.generation = generation;
    bw_gen_config& cfg = img.config;
    cfg.magic = BW_STATE_MAGIC;
    cfg.generation = generation;
    cfg.n_allowlists = static_cast<uint32_t>(compiled.allowlists.size());
    const auto digest = rules_digest(compiled);
    std::memcpy(cfg.rules_digest, digest.data(), digest.size());

    auto mark = [&](uint64_t dev, uint64_t ino) {
        const uint32_t bit = bw_dir_filter_bit(dev, ino);
        img.filter->words[bit / 64] |= uint64_t{1} << (bit % 64);
    };

    // Files: one entry per identity (the compiler applied precedence).
    for (const auto& f : compiled.files) {
        if (f.scope >= BW_MAX_SCOPES) return Error{"scope bit out of range", ERANGE};
        img.file_keys.push_back({f.id.dev, f.id.ino});
        img.file_rules.push_back(
            {kernel_action(f.kind), f.rule_id, f.scope, f.audit ? BW_RULE_AUDIT : 0u, f.generation, 0});
        if (f.directory) {
            cfg.flags |= BW_CFG_FILE_DIRS;
            mark(f.id.dev, f.id.ino);
        }
    }
    // Paths: (directory, name) -> the rule; the directory joins the filter.
    for (const auto& n : compiled.names) {
        if (n.scope >= BW_MAX_SCOPES) return Error{"scope bit out of range", ERANGE};
        if (n.name.empty() || n.name.size() > BW_NAME_MAX) return Error{"bad name " + n.name, ENAMETOOLONG};
        img.name_keys.push_back({n.dir.dev, n.dir.ino, name_hash(n.name), static_cast<uint32_t>(n.name.size()), 0});
        img.name_rules.push_back({kernel_action(n.kind), n.rule_id, n.scope, n.audit ? BW_RULE_AUDIT : 0u, 0, 0});
        mark(n.dir.dev, n.dir.ino);
    }
    if (!img.name_keys.empty()) cfg.flags |= BW_CFG_FILE_NAMES;
    for (const auto& g : compiled.mount_guards) {
        img.mount_keys.push_back({g.id.dev, g.id.ino});
        img.mount_guards.push_back({g.rule_id, static_cast<uint8_t>(kernel_action(g.kind)),
                                    static_cast<uint8_t>(g.audit ? BW_RULE_AUDIT : 0u), 0});
    }
    if (!img.file_keys.empty() || !img.name_keys.empty()) cfg.flags |= BW_CFG_FILES;
    // A file the kernel reaches without its path (open_by_handle_at of a
    // file not in the dentry cache) can't be checked against directory
    // rules or path bindings: on a filesystem that has some, the strongest
    // of those whose scope holds the task applies, a kill capped at
    // deny-all (bw_gen_config.unplaced).
    std::map<std::pair<uint32_t, uint64_t>, bw_file_rule> unplaced;  // (scope, superblock) -> strongest
    auto stronger = [](const bw_file_rule& a, const bw_file_rule& b) {
        return bw_rule_strength(a.action, a.flags) > bw_rule_strength(b.action, b.flags);
    };
    auto consider_unplaced = [&](policy::RuleKind kind, uint32_t rule_id, uint32_t scope, bool audit,
                                 uint64_t sb_dev) {
        const bw_file_rule r{std::min<uint32_t>(kernel_action(kind), BW_ACT_DENY_ALL), rule_id, scope,
                             audit ? BW_RULE_AUDIT : 0u, 0, 0};
        auto [it, fresh] = unplaced.emplace(std::pair(scope, sb_dev), r);
        if (!fresh && stronger(r, it->second)) it->second = r;
    };
    for (const auto& f : compiled.files)
        if (f.directory) consider_unplaced(f.kind, f.rule_id, f.scope, f.audit, f.sb_dev);
    for (const auto& n : compiled.names) consider_unplaced(n.kind, n.rule_id, n.scope, n.audit, n.sb_dev);
    if (unplaced.size() > BW_UNPLACED_RULES) {  // too many: the strongest, for every task, on every filesystem
        bw_file_rule all = unplaced.begin()->second;
        for (const auto& [key, r] : unplaced)
            if (stronger(r, all)) all = r;
        all.scope = BW_SCOPE_HOST;
        unplaced = {{{BW_SCOPE_HOST, 0}, all}};
    }
    size_t slot = 0;
    for (const auto& [key, r] : unplaced) cfg.unplaced[slot++] = {r, key.second};
    if (!unplaced.empty()) cfg.flags |= BW_CFG_UNPLACED;

    // Exec allowlists: one entry per identity, with the bits of every
    // allowlist holding it.
    std::map<policy::FileIdentity, uint64_t> exec;
    std::map<policy::FileIdentity, uint32_t> exec_generation;
    for (const auto& a : compiled.allowlists) {
        if (a.index >= BW_MAX_ALLOWLISTS) return Error{"allowlist index out of range", ERANGE};
        if (a.scope >= BW_MAX_SCOPES) return Error{"scope bit out of range", ERANGE};
        cfg.allowlist_scope[a.index] = a.scope;
        cfg.allowlist_rule[a.index] = a.rule_id;
        cfg.allowlist_flags[a.index] = a.audit ? BW_RULE_AUDIT : 0u;
        for (size_t i = 0; i < a.files.size(); ++i) {
            exec[a.files[i]] |= uint64_t{1} << a.index;
            if (i < a.generations.size()) exec_generation[a.files[i]] = a.generations[i];
            if (i < a.directories.size() && a.directories[i]) {
                cfg.flags |= BW_CFG_EXEC_DIRS;
                mark(a.files[i].dev, a.files[i].ino);
            }
        }
    }
    for (const auto& [id, bits] : exec) {
        img.exec_keys.push_back({id.dev, id.ino});
        const auto gen = exec_generation.find(id);
        img.exec_allows.push_back({bits, gen == exec_generation.end() ? 0u : gen->second, 0});
    }

    // Scopes: cgroup id -> bits of the scopes it starts.
    std::map<uint64_t, uint64_t> scopes;
    for (const auto& s : compiled.scopes) {
        if (s.bit == BW_SCOPE_HOST || s.bit >= BW_MAX_SCOPES) return Error{"scope bit out of range", ERANGE};
        for (uint64_t cg : s.cgroup_ids) scopes[cg] |= uint64_t{1} << s.bit;
    }
    for (const auto& [cg, bits] : scopes) {
        img.scope_keys.push_back(cg);
        img.scope_masks.push_back({bits, 0, 0});
    }
    // Unit names -> bits: cgroups created later with such a name join the
    // scope in the kernel (bpf/units.bpf.h).
    std::map<std::string, uint64_t> units;
    for (const auto& s : compiled.scopes)
        for (const auto& u : s.units) units[u] |= uint64_t{1} << s.bit;
    for (const auto& [name, bits] : units) {
        bw_unit_key key{};
        if (name.size() >= sizeof(key.name)) return Error{"unit name longer than " + std::to_string(sizeof(key.name) - 1) + " bytes: " + name, ENAMETOOLONG};
        name.copy(key.name, name.size());
        img.unit_keys.push_back(key);
        img.unit_masks.push_back({bits, 0, 0});
    }
    return img;
}

}  // namespace bulwark
