// event.h — strict decoding of ring-buffer records and their two renderings:
// the JSON audit record and the human log line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark_abi.h"
#include "daemon/enrich.h"
#include "daemon/error.h"
#include "daemon/loader.h"
#include "policy/policy.h"

namespace bulwark {

// A validated record.  Anything that is not exactly a bw_event of a known
// kind and verdict is refused by decode_event, never guessed at.
struct Event {
    bw_event raw{};
    std::string comm;
    std::string path;  // from the kernel (bpf_d_path); empty if it had none
    // The rule table of raw.generation, taken when the record was read
    // (RuleBook); null when the daemon did not know that generation.
    std::shared_ptr<const policy::CompiledPolicy> rules;
};

Result<Event> decode_event(const void* data, size_t size);

// What the daemon knows about an event beyond the record itself.
struct EventContext {
    EnforcementMode mode = EnforcementMode::lsm;
    uint64_t seq = 0;                         // per boot, gapless (AuditSink assigns it)
    std::string boot_id;                      // /proc/sys/kernel/random/boot_id
    int64_t wall_ns = 0;                      // wall-clock time of the event
    const policy::CompiledRule* rule = nullptr;  // nullptr: generation no longer known
};

// Audit record schema version (docs/audit-log.md).
inline constexpr int kAuditSchemaVersion = 1;

const char* kind_name(const Event& ev);     // "file_open", "exec", "file_change", "preexisting", "file_access"
const char* op_name(const Event& ev);       // change events: "unlink", "rename", ...; else ""
const char* change_name(const Event& ev);   // tamper self-file: "write", "unlink", ...; else ""
const char* verdict_name(const Event& ev);  // "denied", "killed", "allowed-by-audit"

nlohmann::json audit_record(const Event& ev, const EventContext& ctx, const Enrichment* enr = nullptr);
// The same record as one JSON line (no newline), appended to `out`: exactly
// audit_record(...).dump() with invalid UTF-8 replaced, written field by
// field instead of through a JSON object -- the audit log's hot path (the
// object costs ~5 us an event, mostly allocating and comparing its keys).
void append_audit_line(std::string& out, const Event& ev, const EventContext& ctx, const Enrichment* enr = nullptr);
// "denied open of /etc/shadow by cat[1234] (uid 1000) — policy protect-secrets, protectedFiles(all) [lsm]"
std::string summary_line(const Event& ev, const EventContext& ctx, const Enrichment* enr = nullptr);

// RFC 3339 UTC with nanoseconds: 2026-11-21T01:02:03.123456789Z
std::string format_wall_time(int64_t wall_ns);
// Converts a bpf_ktime_get_boot_ns() stamp to wall-clock nanoseconds.
int64_t boot_ns_to_wall_ns(uint64_t boot_ns);

}  // namespace bulwark
