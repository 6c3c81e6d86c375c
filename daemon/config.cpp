#include "daemon/config.h"

#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <utility>
#include <fstream>
#include <sstream>

#include <charconv>
#include <map>
#include <optional>

#include "policy/yaml_tree.h"

namespace bulwark {

const char* to_string(FlushPolicy p) {
    switch (p) {
        case FlushPolicy::none: return "none";
        case FlushPolicy::batch: return "batch";
        case FlushPolicy::fsync: return "fsync";
    }
    return "?";
}
namespace {

using policy::detail::YNode;

void error(ConfigResult& r, const std::string& file, const YNode& n, std::string msg) {
    r.diagnostics.push_back({policy::Severity::error, {file, n.line, n.column}, std::move(msg)});
}

bool scalar(ConfigResult& r, const std::string& file, const std::string& key, const YNode& n) {
    if (n.kind != YNode::Kind::scalar) {
        error(r, file, n, "expected a scalar for " + key);
        return false;
    }
    return true;
}

// YAML 1.2 core booleans, as the policy language reads them.
std::optional<bool> boolean(const YNode& n) {
    if (n.kind != YNode::Kind::scalar) return std::nullopt;
    if (n.value == "true" || n.value == "True" || n.value == "TRUE") return true;
    if (n.value == "false" || n.value == "False" || n.value == "FALSE") return false;
    return std::nullopt;
}

std::optional<uint32_t> number(const YNode& n) {
    if (n.kind != YNode::Kind::scalar || n.value.empty()) return std::nullopt;
    uint32_t v = 0;
    const char* end = n.value.data() + n.value.size();
    auto [p, ec] = std::from_chars(n.value.data(), end, v);
    if (ec != std::errc() || p != end) return std::nullopt;
    return v;
}

// An enum-valued setting: one of `choices` (name, value), in that order in
// the error message.
template <typename T>
void choose(ConfigResult& r, const std::string& file, const std::string& key, const YNode& n,
            std::initializer_list<std::pair<const char*, T>> choices, T& out) {
    const std::string s = n.kind == YNode::Kind::scalar ? n.value : "";
    std::string names;
    for (const auto& [name, value] : choices) {
        if (s == name) {
            out = value;
            return;
        }
        names += (names.empty() ? "" : ", ") + std::string(name);
    }
    error(r, file, n, "invalid value \"" + s + "\" for " + key + "; expected one of: " + names);
}

bool absolute(const YNode& n) { return n.kind == YNode::Kind::scalar && !n.value.empty() && n.value[0] == '/'; }

void parse_settings(ConfigResult& r, const std::string& filename, const YNode& root) {
    if (root.kind == YNode::Kind::null) return;  // empty document: all defaults
    if (root.kind != YNode::Kind::mapping) {
        error(r, filename, root, "expected a mapping of settings");
        return;
    }
    std::map<std::string, const YNode*> seen;  // key -> its first occurrence
    for (std::size_t i = 0; i < root.map_size(); ++i) {
        const YNode& k = root.key(i);
        const YNode& v = root.val(i);
        const std::string key = k.value;
        if (auto [first, fresh] = seen.emplace(key, &k); !fresh) {
            error(r, filename, k,
                  "duplicate key \"" + key + "\"; first given at line " + std::to_string(first->second->line));
            continue;
        }
        if (key == "policyDir") {
            if (scalar(r, filename, key, v)) r.config.policy_dir = v.value;
        } else if (key == "auditLog") {
            if (scalar(r, filename, key, v)) r.config.audit_log = v.value;
        } else if (key == "journal") {
            if (auto b = boolean(v))
                r.config.journal = *b;
            else
                error(r, filename, v, "expected true or false for journal");
        } else if (key == "mode") {
            choose(r, filename, key, v,
                   {{"auto", ModeSetting::automatic}, {"lsm", ModeSetting::lsm}, {"tracepoint", ModeSetting::tracepoint}},
                   r.config.mode);
        } else if (key == "ringBufferKiB") {
            const auto kib = number(v);
            if (kib && *kib >= 4 && (*kib & (*kib - 1)) == 0 && *kib <= (1u << 20))
                r.config.ring_buffer_kib = *kib;
            else
                error(r, filename, v, "ringBufferKiB must be a power of two between 4 and 1048576");
        } else if (key == "auditFlush") {
            choose(r, filename, key, v,
                   {{"none", FlushPolicy::none}, {"batch", FlushPolicy::batch}, {"fsync", FlushPolicy::fsync}},
                   r.config.audit_flush);
        } else if (key == "tracepointProtectedFiles") {
            choose(r, filename, key, v, {{"kill", false}, {"audit", true}}, r.config.tracepoint_protect_audit_only);
        } else if (key == "selfProtection") {
            if (auto b = boolean(v))
                r.config.self_protection = *b;
            else
                error(r, filename, v, "expected true or false for selfProtection");
        } else if (key == "trustedInstallers") {
            if (v.kind != YNode::Kind::sequence) {
                error(r, filename, v, "trustedInstallers must be a list of absolute paths (default [/usr/bin/dpkg])");
                continue;
            }
            r.config.trusted_installers.clear();
            for (const YNode* item : v.items) {
                if (absolute(*item))
                    r.config.trusted_installers.push_back(item->value);
                else
                    error(r, filename, *item, "a trusted installer must be an absolute path to a program");
            }
        } else if (key == "controlSocket") {
            if (absolute(v))
                r.config.control_socket = v.value;
            else
                error(r, filename, v, "controlSocket must be an absolute path");
        } else if (key == "pinDir") {
            if (absolute(v) && v.value.size() > 1)
                r.config.pin_dir = v.value;
            else
                error(r, filename, v, "pinDir must be an absolute path in a bpf filesystem (default /sys/fs/bpf/bulwark)");
        } else if (key == "journalCoalesceMs") {
            const auto ms = number(v);
            if (ms && *ms <= 60000)
                r.config.journal_coalesce_ms = *ms;
            else
                error(r, filename, v, "journalCoalesceMs must be a number of milliseconds between 0 and 60000");
        } else {
            error(r, filename, k,
                  "unknown key \"" + key + "\"; expected one of: policyDir, auditLog, journal, mode, ringBufferKiB, "
                  "auditFlush, journalCoalesceMs, controlSocket, pinDir, tracepointProtectedFiles, "
                  "selfProtection, trustedInstallers");
        }
    }
}

}  // namespace

const char* to_string(ModeSetting m) {
    switch (m) {
        case ModeSetting::automatic: return "auto";
        case ModeSetting::lsm: return "lsm";
        case ModeSetting::tracepoint: return "tracepoint";
    }
    return "?";
}

// The settings file is read with the policy language's libyaml reader
// (policy/yaml_tree.h): positions, limits and booleans as for policies.
ConfigResult parse_config_text(const std::string& text, const std::string& filename) {
    ConfigResult r;
    int documents = 0;
    auto err = policy::detail::load_yaml_documents(text, filename, [&](const policy::detail::YDocument& doc) {
        if (++documents == 1) {
            if (doc.root) parse_settings(r, filename, *doc.root);
        } else if (doc.root) {
            error(r, filename, *doc.root, "the settings file holds one document; this is a second one");
        }
        return true;
    });
    if (err) r.diagnostics.push_back(*err);
    return r;
}

ConfigResult load_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        ConfigResult r;
        r.diagnostics.push_back({policy::Severity::error, {path, 0, 0},
                                 std::string("cannot read settings: ") + std::strerror(errno)});
        return r;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    ConfigResult r = parse_config_text(ss.str(), path);
    const auto base = std::filesystem::absolute(path).parent_path();
    auto resolve = [&](std::string& p) {
        if (!p.empty() && p[0] != '/') p = (base / p).lexically_normal().string();
    };
    resolve(r.config.policy_dir);
    resolve(r.config.audit_log);
    return r;
}

}  // namespace bulwark
