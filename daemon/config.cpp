#include "daemon/config.h"

#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <utility>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace bulwark {
namespace {

policy::Location loc_of(const std::string& file, const YAML::Mark& m) {
    return {file, m.line + 1, m.column + 1};
}

void error(ConfigResult& r, const std::string& file, const YAML::Node& n, std::string msg) {
    r.diagnostics.push_back({policy::Severity::error, loc_of(file, n.Mark()), std::move(msg)});
}

bool scalar(ConfigResult& r, const std::string& file, const std::string& key, const YAML::Node& n) {
    if (!n.IsScalar()) {
        error(r, file, n, "expected a scalar for " + key);
        return false;
    }
    return true;
}

// An enum-valued setting: one of `choices` (name, value), in that order in
// the error message.
template <typename T>
void choose(ConfigResult& r, const std::string& file, const std::string& key, const YAML::Node& n,
            std::initializer_list<std::pair<const char*, T>> choices, T& out) {
    const std::string s = n.IsScalar() ? n.as<std::string>() : "";
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

}  // namespace

const char* to_string(ModeSetting m) {
    switch (m) {
        case ModeSetting::automatic: return "auto";
        case ModeSetting::lsm: return "lsm";
        case ModeSetting::tracepoint: return "tracepoint";
    }
    return "?";
}

ConfigResult parse_config_text(const std::string& text, const std::string& filename) {
    ConfigResult r;
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        r.diagnostics.push_back({policy::Severity::error, loc_of(filename, e.mark), e.msg});
        return r;
    }
    if (root.IsNull()) return r;  // empty file: all defaults
    if (!root.IsMap()) {
        error(r, filename, root, "expected a mapping of settings");
        return r;
    }
    for (const auto& kv : root) {
        const std::string key = kv.first.as<std::string>();
        const YAML::Node& v = kv.second;
        if (key == "policyDir") {
            if (scalar(r, filename, key, v)) r.config.policy_dir = v.as<std::string>();
        } else if (key == "auditLog") {
            if (scalar(r, filename, key, v)) r.config.audit_log = v.as<std::string>();
        } else if (key == "journal") {
            bool b = false;
            if (scalar(r, filename, key, v) && YAML::convert<bool>::decode(v, b))
                r.config.journal = b;
            else
                error(r, filename, v, "expected true or false for journal");
        } else if (key == "mode") {
            choose(r, filename, key, v,
                   {{"auto", ModeSetting::automatic}, {"lsm", ModeSetting::lsm}, {"tracepoint", ModeSetting::tracepoint}},
                   r.config.mode);
        } else if (key == "ringBufferKiB") {
            uint32_t kib = 0;
            if (scalar(r, filename, key, v) && YAML::convert<uint32_t>::decode(v, kib) && kib >= 4 &&
                (kib & (kib - 1)) == 0 && kib <= (1u << 20))
                r.config.ring_buffer_kib = kib;
            else
                error(r, filename, v, "ringBufferKiB must be a power of two between 4 and 1048576");
        } else if (key == "auditFlush") {
            choose(r, filename, key, v,
                   {{"none", FlushPolicy::none}, {"batch", FlushPolicy::batch}, {"fsync", FlushPolicy::fsync}},
                   r.config.audit_flush);
        } else if (key == "tracepointProtectedFiles") {
            choose(r, filename, key, v, {{"kill", false}, {"audit", true}}, r.config.tracepoint_protect_audit_only);
        } else if (key == "selfProtection") {
            bool b = false;
            if (scalar(r, filename, key, v) && YAML::convert<bool>::decode(v, b))
                r.config.self_protection = b;
            else
                error(r, filename, v, "expected true or false for selfProtection");
        } else if (key == "trustedInstallers") {
            if (!v.IsSequence()) {
                error(r, filename, v, "trustedInstallers must be a list of absolute paths (default [/usr/bin/dpkg])");
                continue;
            }
            r.config.trusted_installers.clear();
            for (const auto& item : v) {
                if (item.IsScalar() && !item.as<std::string>().empty() && item.as<std::string>()[0] == '/')
                    r.config.trusted_installers.push_back(item.as<std::string>());
                else
                    error(r, filename, item, "a trusted installer must be an absolute path to a program");
            }
        } else if (key == "controlSocket") {
            if (scalar(r, filename, key, v) && !v.as<std::string>().empty() && v.as<std::string>()[0] == '/')
                r.config.control_socket = v.as<std::string>();
            else
                error(r, filename, v, "controlSocket must be an absolute path");
        } else if (key == "pinDir") {
            if (scalar(r, filename, key, v) && v.as<std::string>().size() > 1 && v.as<std::string>()[0] == '/')
                r.config.pin_dir = v.as<std::string>();
            else
                error(r, filename, v, "pinDir must be an absolute path in a bpf filesystem (default /sys/fs/bpf/bulwark)");
        } else if (key == "journalCoalesceMs") {
            uint32_t ms = 0;
            if (scalar(r, filename, key, v) && YAML::convert<uint32_t>::decode(v, ms) && ms <= 60000)
                r.config.journal_coalesce_ms = ms;
            else
                error(r, filename, v, "journalCoalesceMs must be a number of milliseconds between 0 and 60000");
        } else {
            error(r, filename, kv.first,
                  "unknown key \"" + key + "\"; expected one of: policyDir, auditLog, journal, mode, ringBufferKiB, "
                  "auditFlush, journalCoalesceMs, controlSocket, pinDir, tracepointProtectedFiles, "
                  "selfProtection, trustedInstallers");
        }
    }
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
