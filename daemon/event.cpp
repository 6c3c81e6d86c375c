#include "daemon/event.h"

#include <charconv>
#include <string_view>

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
    if (r.kind != BW_EV_FILE_OPEN && r.kind != BW_EV_EXEC && r.kind != BW_EV_FILE_CHANGE &&
        r.kind != BW_EV_PREEXISTING && r.kind != BW_EV_FILE_ACCESS && r.kind != BW_EV_TAMPER)
        return Error{"event record of unknown kind " + std::to_string(r.kind), EBADMSG};
    if (r.kind == BW_EV_FILE_CHANGE && (r.op == BW_OP_NONE || r.op > BW_OP_CHANGE_MAX))
        return Error{"change event with unknown operation " + std::to_string(r.op), EBADMSG};
    if (r.kind == BW_EV_TAMPER && (r.op <= BW_OP_CHANGE_MAX || r.op > BW_OP_TAMPER_MAX))
        return Error{"tamper event with unknown operation " + std::to_string(r.op), EBADMSG};
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_SELF_FILE && r.arg > BW_OP_CHANGE_MAX)
        return Error{"self-file tamper event with unknown change " + std::to_string(r.arg), EBADMSG};
    if (r.verdict != BW_VERDICT_DENIED && r.verdict != BW_VERDICT_KILLED && r.verdict != BW_VERDICT_AUDITED &&
        r.verdict != BW_VERDICT_KILL_FAILED)
        return Error{"event record with unknown verdict " + std::to_string(r.verdict), EBADMSG};
    if ((r.kind == BW_EV_PREEXISTING) != (r.fd >= 0))
        return Error{"event record of kind " + std::to_string(r.kind) + " with descriptor " + std::to_string(r.fd),
                     EBADMSG};
    if (r.kind == BW_EV_TAMPER && (r.action != BW_ACT_NONE || r.verdict != BW_VERDICT_DENIED))
        return Error{"tamper event with action " + std::to_string(r.action) + ", verdict " + std::to_string(r.verdict),
                     EBADMSG};
    if (r.kind != BW_EV_EXEC && r.kind != BW_EV_TAMPER && (r.action < BW_ACT_DENY_WRITE || r.action > BW_ACT_KILL))
        return Error{"file event with unknown action " + std::to_string(r.action), EBADMSG};
    ev.comm = bounded_string(r.comm, sizeof(r.comm));
    ev.path = bounded_string(r.path, sizeof(r.path));
    return ev;
}

const char* kind_name(const Event& ev) {
    switch (ev.raw.kind) {
        case BW_EV_EXEC: return "exec";
        case BW_EV_FILE_CHANGE: return "file_change";
        case BW_EV_PREEXISTING: return "preexisting";
        case BW_EV_FILE_ACCESS: return "file_access";
        case BW_EV_TAMPER: return "tamper";
        default: return "file_open";
    }
}

namespace {

const char* op_name_of(uint32_t op) {
    switch (op) {
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
        case BW_OP_UTIMES: return "utimes";
        case BW_OP_MOUNT: return "mount";
        case BW_OP_BPF_MAP: return "bpf-map";
        case BW_OP_BPF_PROG: return "bpf-prog";
        case BW_OP_BPF_LINK: return "bpf-link";
        case BW_OP_UNPIN: return "unpin";
        case BW_OP_UMOUNT: return "umount";
        case BW_OP_SIGNAL: return "signal";
        case BW_OP_PTRACE: return "ptrace";
        case BW_OP_SET_EXE: return "set-exe";
        case BW_OP_BPF_LOAD: return "bpf-load";
        case BW_OP_SELF_FILE: return "self-file";
        default: return "";
    }
}

}  // namespace

const char* op_name(const Event& ev) { return op_name_of(ev.raw.op); }

const char* change_name(const Event& ev) {
    if (ev.raw.kind != BW_EV_TAMPER || ev.raw.op != BW_OP_SELF_FILE) return "";
    return ev.raw.arg == BW_OP_NONE ? "write" : op_name_of(ev.raw.arg);
}

namespace {

// Records about one descriptor's access to a file (open_flags, write).
bool has_open_flags(const bw_event& r) {
    return r.kind == BW_EV_FILE_OPEN || r.kind == BW_EV_PREEXISTING || r.kind == BW_EV_FILE_ACCESS;
}

// The path to show: the kernel's, else (exact match) the rule's, else none.
// Is the record's path the kernel's?  Not when the hook had only the
// file's name, nor for a file the kernel found without its path (what
// bpf_d_path makes of a disconnected dentry is no path of it).
bool kernel_path_shown(const Event& ev) {
    return !ev.path.empty() && !(ev.raw.flags & (BW_EVF_NAME_ONLY | BW_EVF_UNPLACED));
}

// The path a record shows: the kernel's, else the rule's when the rule
// names the file itself, else none.
std::string shown_path(const Event& ev, const EventContext& ctx) {
    if (kernel_path_shown(ev)) return ev.path;
    if (ctx.rule && !(ev.raw.flags & (BW_EVF_DIR_MATCH | BW_EVF_UNPLACED))) return ctx.rule->path;
    return "";
}

}  // namespace

const char* verdict_name(const Event& ev) {
    switch (ev.raw.verdict) {
        case BW_VERDICT_DENIED: return "denied";
        case BW_VERDICT_KILLED: return "killed";
        case BW_VERDICT_KILL_FAILED: return "kill-failed";
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
    const bool kernel_path = kernel_path_shown(ev);
    const std::string path = shown_path(ev, ctx);
    if (path.empty())
        j["path"] = nullptr;
    else
        j["path"] = path;
    j["path_source"] = kernel_path ? "kernel" : "policy";
    if (r.flags & BW_EVF_NAME_ONLY) j["name"] = ev.path;
    if (r.kind == BW_EV_FILE_CHANGE || r.kind == BW_EV_TAMPER) j["op"] = op_name(ev);
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_SELF_FILE) j["change"] = change_name(ev);
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_SIGNAL) j["signal"] = r.arg;
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_PTRACE) j["ptrace_mode"] = r.arg;
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_BPF_LINK) j["bpf_cmd"] = r.arg;
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_BPF_LOAD) j["prog_type"] = r.arg;
    j["via_directory"] = (r.flags & BW_EVF_DIR_MATCH) != 0;
    j["via_path"] = (r.flags & BW_EVF_NAME_MATCH) != 0;
    if (r.kind == BW_EV_EXEC) j["content_changed"] = (r.flags & BW_EVF_CONTENT_CHANGED) != 0;
    if (r.flags & BW_EVF_UNPLACED) j["unplaced"] = true;
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
    if (has_open_flags(r)) {
        j["open_flags"] = r.open_flags;
        j["write"] = (r.flags & BW_EVF_WRITE) != 0;
    }
    if (r.kind == BW_EV_PREEXISTING) j["fd"] = r.fd;
    if (r.flags & BW_EVF_RECEIVED) j["received"] = true;
    if (r.flags & BW_EVF_MMAP_EXEC) j["mmap"] = true;
    if (r.flags & BW_EVF_PATH_TRUNCATED) j["path_truncated"] = true;
    if (r.flags & BW_EVF_WALK_TRUNCATED) j["walk_truncated"] = true;
    if (enr) {
        auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
        j["exe"] = opt(enr->exe);
        j["parent_comm"] = opt(enr->parent_comm);
        j["user"] = opt(enr->user);
        j["unit"] = opt(enr->unit);
    }
    return j;
}

namespace {

// Writes one JSON object; the keys must come in the order nlohmann's
// std::map-backed object dumps them (byte order).
class LineWriter {
public:
    explicit LineWriter(std::string& out) : out_(out) {}
    void str(const char* k, std::string_view s) {
        key(k);
        escaped(s);
    }
    void null(const char* k) {
        key(k);
        out_ += "null";
    }
    void str_or_null(const char* k, const std::string& s) { s.empty() ? null(k) : str(k, s); }
    void num(const char* k, uint64_t v) {
        key(k);
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof(buf), v);
        out_.append(buf, r.ptr);
    }
    void boolean(const char* k, bool b) {
        key(k);
        out_ += b ? "true" : "false";
    }
    void end() { out_ += first_ ? "{}" : "}"; }

private:
    void key(const char* k) {
        out_ += first_ ? "{\"" : ",\"";
        first_ = false;
        out_ += k;
        out_ += "\":";
    }
    // Plain printable ASCII is copied; anything else (escapes, UTF-8,
    // invalid bytes) goes through nlohmann, so the bytes are the library's.
    void escaped(std::string_view s) {
        for (const unsigned char c : s) {
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) {
                out_ += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                return;
            }
        }
        out_ += '"';
        out_ += s;
        out_ += '"';
    }
    std::string& out_;
    bool first_ = true;
};

}  // namespace

void append_audit_line(std::string& out, const Event& ev, const EventContext& ctx, const Enrichment* enr) {
    const bw_event& r = ev.raw;
    const bool kernel_path = kernel_path_shown(ev);
    const std::string path = shown_path(ev, ctx);
    LineWriter w(out);
    w.str("action", verdict_name(ev));
    if (!ctx.boot_id.empty()) w.str("boot_id", ctx.boot_id);
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_BPF_LINK) w.num("bpf_cmd", r.arg);
    w.num("cgroup_id", r.cgroup_id);
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_SELF_FILE) w.str("change", change_name(ev));
    w.str("comm", ev.comm);
    if (r.kind == BW_EV_EXEC) w.boolean("content_changed", (r.flags & BW_EVF_CONTENT_CHANGED) != 0);
    w.str("dev", policy::format_kernel_dev(r.dev));
    if (enr) w.str_or_null("exe", enr->exe);
    if (r.kind == BW_EV_PREEXISTING) w.num("fd", uint64_t(r.fd));
    w.num("generation", r.generation);
    w.num("gid", r.gid);
    w.num("ino", r.ino);
    w.str("kind", kind_name(ev));
    if (r.flags & BW_EVF_MMAP_EXEC) w.boolean("mmap", true);
    w.str("mode", to_string(ctx.mode));
    if (r.flags & BW_EVF_NAME_ONLY) w.str("name", ev.path);
    if (r.kind == BW_EV_FILE_CHANGE || r.kind == BW_EV_TAMPER) w.str("op", op_name(ev));
    if (has_open_flags(r)) w.num("open_flags", r.open_flags);
    if (enr) w.str_or_null("parent_comm", enr->parent_comm);
    w.str_or_null("path", path);
    w.str("path_source", kernel_path ? "kernel" : "policy");
    if (r.flags & BW_EVF_PATH_TRUNCATED) w.boolean("path_truncated", true);
    w.num("pid", r.pid);
    if (ctx.rule) {
        w.str("policy", ctx.rule->policy);
        w.str("policy_mode", policy::to_string(ctx.rule->mode));
    } else {
        w.null("policy");
        w.str("policy_mode", r.verdict == BW_VERDICT_AUDITED ? "audit" : "enforce");
    }
    w.num("ppid", r.ppid);
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_BPF_LOAD) w.num("prog_type", r.arg);
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_PTRACE) w.num("ptrace_mode", r.arg);
    if (r.flags & BW_EVF_RECEIVED) w.boolean("received", true);
    if (ctx.rule) {
        w.str("rule", policy::to_string(ctx.rule->kind));
        w.num("rule_id", r.rule_id);
        w.str("rule_path", ctx.rule->path);
    } else {
        w.null("rule");
        w.num("rule_id", r.rule_id);
        w.null("rule_path");
    }
    w.num("seq", ctx.seq);
    if (r.kind == BW_EV_TAMPER && r.op == BW_OP_SIGNAL) w.num("signal", r.arg);
    w.num("tid", r.tid);
    w.str("time", format_wall_time(ctx.wall_ns));
    w.num("uid", r.uid);
    if (r.flags & BW_EVF_UNPLACED) w.boolean("unplaced", true);
    if (enr) {
        w.str_or_null("unit", enr->unit);
        w.str_or_null("user", enr->user);
    }
    w.num("v", kAuditSchemaVersion);
    w.boolean("via_directory", (r.flags & BW_EVF_DIR_MATCH) != 0);
    w.boolean("via_path", (r.flags & BW_EVF_NAME_MATCH) != 0);
    if (r.flags & BW_EVF_WALK_TRUNCATED) w.boolean("walk_truncated", true);
    if (has_open_flags(r)) w.boolean("write", (r.flags & BW_EVF_WRITE) != 0);
    w.end();
}

std::string summary_line(const Event& ev, const EventContext& ctx, const Enrichment* enr) {
    const bw_event& r = ev.raw;
    if (r.kind == BW_EV_TAMPER) {
        std::string what;
        switch (r.op) {
            case BW_OP_SIGNAL: what = "signal " + std::to_string(r.arg) + " to bulwarkd"; break;
            case BW_OP_PTRACE: what = "ptrace access to bulwarkd"; break;
            case BW_OP_SET_EXE: what = "changing a process's executable while no bulwarkd runs"; break;
            case BW_OP_BPF_LOAD: what = "loading a BPF program that could switch bulwark's hooks off"; break;
            case BW_OP_UMOUNT: what = "unmounting the bpf filesystem of bulwark's pins"; break;
            case BW_OP_UNPIN: what = "removing or renaming bulwark's pin " + ev.path; break;
            case BW_OP_BPF_LINK: what = "detaching or replacing bulwark's program " + ev.path; break;
            case BW_OP_BPF_PROG: what = "a descriptor of bulwark's program " + ev.path; break;
            case BW_OP_SELF_FILE: what = std::string(change_name(ev)) + " of bulwark's own file " + ev.path; break;
            default: what = "a descriptor of bulwark's map " + ev.path;
        }
        return std::string(verdict_name(ev)) + " " + what + " by " + ev.comm + "[" + std::to_string(r.pid) +
               "] (uid " + std::to_string(r.uid) + (enr && !enr->user.empty() ? " " + enr->user : std::string()) +
               ") — bulwark's self-protection [" + to_string(ctx.mode) + "]";
    }
    const bool writing = (r.flags & BW_EVF_WRITE) != 0;
    std::string what;
    switch (r.kind) {
        case BW_EV_EXEC: what = (r.flags & BW_EVF_MMAP_EXEC) ? "executable mapping" : "exec"; break;
        case BW_EV_FILE_CHANGE: what = op_name(ev); break;
        case BW_EV_PREEXISTING:
            what = std::string(writing ? "writable" : "readable") + " descriptor " + std::to_string(r.fd) +
                   " opened before the rule";
            break;
        case BW_EV_FILE_ACCESS: what = writing ? "write" : "read"; break;
        default:
            what = std::string((r.flags & BW_EVF_RECEIVED) ? "received " : "") + (writing ? "write-open" : "open");
    }
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
