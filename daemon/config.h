// config.h — the daemon's settings file (/etc/bulwark/bulwark.yaml).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace bulwark {

// How the audit log is written (auditFlush; daemon/audit_sink.h).
enum class FlushPolicy {
    none,   // lines are held in memory up to 64 KiB or one second
    batch,  // every batch of events is written at once (default)
    fsync,  // ... and fdatasync'ed (survives power loss)
};

const char* to_string(FlushPolicy p);

enum class ModeSetting { automatic, lsm, tracepoint };

struct DaemonConfig {
    std::string policy_dir = "/etc/bulwark/policies.d";
    std::string audit_log = "/var/log/bulwark/audit.jsonl";
    bool journal = true;
    ModeSetting mode = ModeSetting::automatic;
    uint32_t ring_buffer_kib = 1024;  // power of two, >= 4 KiB page
    FlushPolicy audit_flush = FlushPolicy::batch;
    uint32_t journal_coalesce_ms = 1000;  // 0: no coalescing
    std::string control_socket = "/run/bulwark/control.sock";
    // Where programs, links and maps are pinned so that enforcement outlives
    // bulwarkd (daemon/pins.h); its parent must be a bpf filesystem.
    std::string pin_dir = "/sys/fs/bpf/bulwark";
    // Tracepoint mode can't refuse an open: kill the opener of a protected
    // file (default) or only report it.
    bool tracepoint_protect_audit_only = false;
    // LSM mode: the kernel refuses bpf() on bulwark's objects, removing its
    // pins, signals and ptrace to bulwarkd from anyone but bulwarkd (and
    // PID 1 / its parent for signals).  Off: only detected and restored.
    bool self_protection = true;
    // LSM mode: processes running one of these (not traced) may replace an
    // allowlisted program and keep it trusted (bpf/content.bpf.h), and
    // change bulwark's own files (self-protection).  Empty: none may.
    std::vector<std::string> trusted_installers = {"/usr/bin/dpkg"};
};

struct ConfigResult {
    DaemonConfig config;
    std::vector<policy::Diagnostic> diagnostics;
    bool ok() const { return !policy::has_errors(diagnostics); }
};

// Parses a settings file; every key is optional.  Relative policyDir and
// auditLog are resolved against the directory of the settings file, so the
// repository's config/bulwark.yaml works from a clone.
ConfigResult load_config(const std::string& path);
ConfigResult parse_config_text(const std::string& text, const std::string& filename);

const char* to_string(ModeSetting m);

}  // namespace bulwark
