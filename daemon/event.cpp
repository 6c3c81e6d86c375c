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
    if (r.kind != BW_EV_FILE_OPEN && r.kind != BW_EV_EXEC && r.kind != BW_EV_FILE_CHANGE)
        return Error{"event record of unknown kind " + std::to_string(r.kind), EBADMSG};
    if (r.kind == BW_EV_FILE_CHANGE && (r.op == BW_OP_NONE || r.op > BW_OP_MAX))
        return Error{"change event with unknown operation " + std::to_string(r.op), EBADMSG};
    if (r.verdict != BW_VERDICT_DENIED && r.verdict != BW_VERDICT_KILLED && r.verdict != BW_VERDICT_AUDITED)
        return Error{"event record with unknown verdict " + std::to_string(r.verdict), EBADMSG};
    if (r.kind != BW_EV_EXEC && (r.action < BW_ACT_DENY_WRITE || r.action > BW_ACT_KILL))
        return Error{"file event with unknown action " + std::to_string(r.action), EBADMSG};
    ev.comm = bounded_string(r.comm, sizeof(r.comm));
    ev.path = bounded_string(r.path, sizeof(r.path));
    return ev;
}

const char* kind_name(const Event& ev) {
    switch (ev.raw.kind) {
        case BW_EV_EXEC: return "exec";
        case BW_EV_FILE_CHANGE: return "file_change";
        default: return "file_open";
    }
}

const char* op_name(const Event& ev) {
    switch (ev.raw.op) {
        case BW_OP_UNLINK: return "unlink";
        case BW_OP_RMDIR: return "rmdir";
        case BW_OP_RENAME_FROM: return "rename";
        case BW_OP_RENAME_OVER: return "rename-over";
        case BW_OP_LINK: return "link";
        case BW_OP_TRUNCATE: return "truncate";
        case BW_OP_CHMOD: return "chmod";
        case BW_OP_CHOWN: return "chown";
        case BW_OP_SETXATTR: return "setxattr";
        case BW_OP_REMOVEXATTR: return "removexattr";
        default: return "";
    }
}

namespace {

// The path to show: the kernel's, else (exact match) the rule's, else none.
std::string shown_path(const Event& ev, const EventContext& ctx) {
    if (!ev.path.empty() && !(ev.raw.flags & BW_EVF_NAME_ONLY)) return ev.path;
    if (ctx.rule && !(ev.raw.flags & BW_EVF_DIR_MATCH)) return ctx.rule->path;
    return "";
}

}  // namespace

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

nlohmann::json audit_record(const Event& ev, const EventContext& ctx, const Enrichment* enr) {
    const bw_event& r = ev.raw;
    nlohmann::json j;
    j["v"] = kAuditSchemaVersion;
    j["seq"] = ctx.seq;
    if (!ctx.boot_id.empty()) j["boot_id"] = ctx.boot_id;
    j["time"] = format_wall_time(ctx.wall_ns);
    j["kind"] = kind_name(ev);
    j["action"] = verdict_name(ev);
    j["mode"] = to_string(ctx.mode);
    // The path the kernel saw; if the hook had none, the rule's path when the
    // file itself is the rule's (else null), and the file's own name.
    const bool kernel_path = !ev.path.empty() && !(r.flags & BW_EVF_NAME_ONLY);
    const std::string path = shown_path(ev, ctx);
    if (path.empty())
        j["path"] = nullptr;
    else
        j["path"] = path;
    j["path_source"] = kernel_path ? "kernel" : "policy";
    if (r.flags & BW_EVF_NAME_ONLY) j["name"] = ev.path;
    if (r.kind == BW_EV_FILE_CHANGE) j["op"] = op_name(ev);
    j["via_directory"] = (r.flags & BW_EVF_DIR_MATCH) != 0;
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
    if (enr) {
        auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
        j["exe"] = opt(enr->exe);
        j["parent_comm"] = opt(enr->parent_comm);
        j["user"] = opt(enr->user);
        j["unit"] = opt(enr->unit);
    }
    return j;
}

std::string summary_line(const Event& ev, const EventContext& ctx, const Enrichment* enr) {
    const bw_event& r = ev.raw;
    std::string what = r.kind == BW_EV_EXEC          ? "exec"
                       : r.kind == BW_EV_FILE_CHANGE ? op_name(ev)
                       : (r.flags & BW_EVF_WRITE)    ? "write-open"
                                                     : "open";
    std::string verdict = verdict_name(ev);
    std::string path = shown_path(ev, ctx);
    if (path.empty()) path = (r.flags & BW_EVF_NAME_ONLY) ? "…/" + ev.path : "?";
    std::string line = verdict + " " + what + " of " + path + " by " + ev.comm + "[" + std::to_string(r.pid) +
                       "] (uid " + std::to_string(r.uid) +
                       (enr && !enr->user.empty() ? " " + enr->user : std::string()) + ")";
    if (ctx.rule)
        line += " — policy " + ctx.rule->policy + ", " + std::string(policy::to_string(ctx.rule->kind));
    else
        line += " — rule " + std::to_string(r.rule_id) + " of generation " + std::to_string(r.generation);
    line += " [" + std::string(to_string(ctx.mode)) + "]";
    return line;
}

}  // namespace bulwark
