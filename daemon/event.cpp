#include "daemon/event.h"

#include <time.h>

#include <cstring>

namespace bulwark {
namespace {

std::string bounded_string(const char* s, size_t max) {
    return std::string(s, strnlen(s, max));
}

int64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Result<Event> decode_event(const void* data, size_t size) {
    if (size < sizeof(bw_event))
        return Error{"event record of " + std::to_string(size) + " bytes, expected " +
                         std::to_string(sizeof(bw_event)),
                     EBADMSG};
    Event ev;
    std::memcpy(&ev.raw, data, sizeof(bw_event));
    const bw_event& r = ev.raw;
    if (r.size != sizeof(bw_event) || size != sizeof(bw_event))
        return Error{"event record declares " + std::to_string(r.size) + " bytes in a record of " +
                         std::to_string(size) + ", expected " + std::to_string(sizeof(bw_event)),
                     EBADMSG};
    if (r.abi != BW_ABI_VERSION)
        return Error{"event record of ABI version " + std::to_string(r.abi) + ", expected " +
                         std::to_string(BW_ABI_VERSION),
                     EBADMSG};
    if (r.kind != BW_EV_FILE_OPEN && r.kind != BW_EV_EXEC)
        return Error{"event record of unknown kind " + std::to_string(r.kind), EBADMSG};
    if (r.verdict != BW_VERDICT_DENIED && r.verdict != BW_VERDICT_KILLED && r.verdict != BW_VERDICT_AUDITED)
        return Error{"event record with unknown verdict " + std::to_string(r.verdict), EBADMSG};
    if (r.kind == BW_EV_FILE_OPEN && (r.action < BW_ACT_DENY_WRITE || r.action > BW_ACT_KILL))
        return Error{"file event with unknown action " + std::to_string(r.action), EBADMSG};
    ev.comm = bounded_string(r.comm, sizeof(r.comm));
    ev.path = bounded_string(r.path, sizeof(r.path));
    return ev;
}

const char* kind_name(const Event& ev) { return ev.raw.kind == BW_EV_EXEC ? "exec" : "file_open"; }

const char* verdict_name(const Event& ev) {
    switch (ev.raw.verdict) {
        case BW_VERDICT_DENIED: return "denied";
        case BW_VERDICT_KILLED: return "killed";
        default: return "allowed-by-audit";
    }
}

std::string format_wall_time(int64_t wall_ns) {
    const time_t secs = static_cast<time_t>(wall_ns / 1'000'000'000);
    const long nanos = static_cast<long>(wall_ns % 1'000'000'000);
    tm utc{};
    gmtime_r(&secs, &utc);
    char buf[64];
    const size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", nanos);
    return buf;
}

int64_t boot_ns_to_wall_ns(uint64_t boot_ns) {
    return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME) + static_cast<int64_t>(boot_ns);
}

nlohmann::json audit_record(const Event& ev, const EventContext& ctx) {
    const bw_event& r = ev.raw;
    nlohmann::json j;
    j["v"] = kAuditSchemaVersion;
    j["seq"] = ctx.seq;
    j["time"] = format_wall_time(ctx.wall_ns);
    j["kind"] = kind_name(ev);
    j["action"] = verdict_name(ev);
    j["mode"] = to_string(ctx.mode);
    // The path the kernel saw; if it could not produce one, the rule's path.
    const bool kernel_path = !ev.path.empty();
    j["path"] = kernel_path ? ev.path : (ctx.rule ? ctx.rule->path : std::string());
    j["path_source"] = kernel_path ? "kernel" : "policy";
    if (ctx.rule) {
        j["policy"] = ctx.rule->policy;
        j["policy_mode"] = policy::to_string(ctx.rule->mode);
        j["rule"] = policy::to_string(ctx.rule->kind);
        j["rule_path"] = ctx.rule->path;
    } else {
        j["policy"] = nullptr;
        j["policy_mode"] = r.verdict == BW_VERDICT_AUDITED ? "audit" : "enforce";
        j["rule"] = nullptr;
        j["rule_path"] = nullptr;
    }
    j["rule_id"] = r.rule_id;
    j["generation"] = r.generation;
    j["pid"] = r.pid;
    j["tid"] = r.tid;
    j["ppid"] = r.ppid;
    j["uid"] = r.uid;
    j["gid"] = r.gid;
    j["comm"] = ev.comm;
    j["cgroup_id"] = r.cgroup_id;
    j["dev"] = policy::format_kernel_dev(r.dev);
    j["ino"] = r.ino;
    if (r.kind == BW_EV_FILE_OPEN) {
        j["open_flags"] = r.open_flags;
        j["write"] = (r.flags & BW_EVF_WRITE) != 0;
    }
    if (r.flags & BW_EVF_PATH_TRUNCATED) j["path_truncated"] = true;
    return j;
}

std::string summary_line(const Event& ev, const EventContext& ctx) {
    const bw_event& r = ev.raw;
    std::string what = r.kind == BW_EV_EXEC ? "exec" : ((r.flags & BW_EVF_WRITE) ? "write-open" : "open");
    std::string verdict = verdict_name(ev);
    std::string path = !ev.path.empty() ? ev.path : (ctx.rule ? ctx.rule->path : "?");
    std::string line = verdict + " " + what + " of " + path + " by " + ev.comm + "[" + std::to_string(r.pid) +
                       "] (uid " + std::to_string(r.uid) + ")";
    if (ctx.rule)
        line += " — policy " + ctx.rule->policy + ", " + std::string(policy::to_string(ctx.rule->kind));
    else
        line += " — rule " + std::to_string(r.rule_id) + " of generation " + std::to_string(r.generation);
    line += " [" + std::string(to_string(ctx.mode)) + "]";
    return line;
}

}  // namespace bulwark
