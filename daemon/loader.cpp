#include "daemon/loader.h"

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bulwark_abi.h"  // the skeletons embed these types
#include "daemon/log.h"
#include "lsm.skel.h"
#include "tracepoint.skel.h"

namespace bulwark {
namespace {

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
    // libbpf's own messages (verifier logs on failure) go to the log.
    if (level == LIBBPF_DEBUG) return 0;
    char buf[4096];
    const int n = vsnprintf(buf, sizeof(buf), fmt, args);
    std::string line(buf, n > 0 ? std::min<size_t>(size_t(n), sizeof(buf) - 1) : 0);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty()) log::get("libbpf")->warn("{}", line);
    return n;
}

std::string lsm_hint(int err) {
    if (err == EPERM)
        return "the kernel refused the BPF trampoline LSM programs need (function tracing disabled, lockdown, "
               "or missing CAP_BPF/CAP_PERFMON)";
    if (err == EINVAL || err == EOPNOTSUPP || err == 524 /* ENOTSUPP */)
        return "BPF LSM is not active on this kernel";
    return "";
}

// Why the pinned maps in `reuse` cannot serve `obj` ("" when they can):
// every bw_* map of the object must be there with the same type, key and
// value sizes and (except the ring buffer, whose size follows the pinned
// one) the same number of entries.
std::string reuse_mismatch(bpf_object* obj, const std::map<std::string, int>& reuse) {
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, obj) {
        const std::string name = bpf_map__name(m);
        if (name.rfind("bw_", 0) != 0) continue;  // .rodata and friends: always the object's own
        auto it = reuse.find(name);
        if (it == reuse.end()) return "no pinned map " + name;
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(it->second, &info, &len) != 0)
            return "pinned map " + name + ": " + std::strerror(errno);
        if (info.type != static_cast<uint32_t>(bpf_map__type(m)) || info.key_size != bpf_map__key_size(m) ||
            info.value_size != bpf_map__value_size(m) ||
            (bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF && info.max_entries != bpf_map__max_entries(m)))
            return "pinned map " + name + " has another layout";
    }
    return "";
}

// Iterator programs are run, not attached.
bool is_iterator(const bpf_program* prog) {
    return bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
           bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER;
}

// Attached on demand (Enforcer::attach_access_checks), not by attach().
constexpr const char* kAccessCheckProgram = "bw_lsm_file_permission";
bool is_on_demand(const bpf_program* prog) { return std::strcmp(bpf_program__name(prog), kAccessCheckProgram) == 0; }

// Everything both modes share: the skeleton, its links, its maps.
template <typename Skel, void (*Destroy)(Skel*)>
class SkeletonEnforcer : public Enforcer {
public:
    SkeletonEnforcer(Skel* skel, EnforcementMode mode, std::function<std::string(int)> hint)
        : skel_(skel), mode_(mode), hint_(std::move(hint)) {}
    ~SkeletonEnforcer() override {
        for (bpf_link* l : links_) {
            if (keep_) bpf_link__disconnect(l);  // stays attached through its pin
            bpf_link__destroy(l);
        }
        Destroy(skel_);
    }
    EnforcementMode mode() const override { return mode_; }
    PolicyMapFds maps() const override {
        return PolicyMapFds{
            bpf_map__fd(skel_->maps.bw_files),      bpf_map__fd(skel_->maps.bw_exec),
            bpf_map__fd(skel_->maps.bw_scopes),     bpf_map__fd(skel_->maps.bw_config),
            bpf_map__fd(skel_->maps.bw_dir_filter), bpf_map__fd(skel_->maps.bw_state),
            bpf_map__fd(skel_->maps.bw_counters),   bpf_map__fd(skel_->maps.bw_fence),
            bpf_map__fd(skel_->maps.bw_self),       bpf_map__fd(skel_->maps.bw_mounts),
            bpf_map__fd(skel_->maps.bw_self_files), bpf_map__fd(skel_->maps.bw_units),
            bpf_map__fd(skel_->maps.bw_names),
        };
    }
    int events_fd() const override { return bpf_map__fd(skel_->maps.bw_events); }
    bool reused_maps() const override { return reused_; }
    const std::string& reuse_refused() const override { return reuse_refused_; }
    const std::vector<std::string>& attached() const override { return names_; }

    // Before load: the pinned maps, if every one of them fits.
    void reuse(const std::map<std::string, int>& maps) {
        if (maps.empty()) return;
        reuse_refused_ = reuse_mismatch(skel_->obj, maps);
        if (!reuse_refused_.empty()) return;
        bpf_map* m = nullptr;
        bpf_object__for_each_map(m, skel_->obj) {
            auto it = maps.find(bpf_map__name(m));
            if (it == maps.end()) continue;
            if (int err = bpf_map__reuse_fd(m, it->second); err) {
                reuse_refused_ = std::string("reuse pinned map ") + bpf_map__name(m) + ": " + std::strerror(-err);
                return;  // the object is not loaded yet: the caller starts over without reuse
            }
        }
        reused_ = true;
    }

    Status attach() override {
        bpf_program* prog = nullptr;
        bpf_object__for_each_program(prog, skel_->obj) {
            if (!bpf_program__autoload(prog)) continue;  // a variant this kernel does not use
            if (is_iterator(prog)) continue;             // run on demand (scan_preexisting)
            if (is_on_demand(prog)) continue;            // attach_access_checks
            if (auto err = attach_one(prog)) return err;
        }
        return std::nullopt;
    }

    Result<bool> attach_access_checks() override {
        bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, kAccessCheckProgram);
        if (!prog || !bpf_program__autoload(prog)) return false;
        for (const auto& n : link_progs_)
            if (n == kAccessCheckProgram) return false;
        if (auto err = attach_one(prog)) return *err;
        return true;
    }

    std::vector<NamedFd> programs() const override {
        std::vector<NamedFd> out;
        bpf_program* prog = nullptr;
        bpf_object__for_each_program(prog, skel_->obj) {
            if (bpf_program__autoload(prog)) out.push_back({bpf_program__name(prog), bpf_program__fd(prog)});
        }
        return out;
    }
    std::vector<NamedFd> pinnable_maps() const override {
        std::vector<NamedFd> out;
        bpf_map* m = nullptr;
        bpf_object__for_each_map(m, skel_->obj) {
            const std::string name = bpf_map__name(m);
            if (name.rfind("bw_", 0) == 0) out.push_back({name, bpf_map__fd(m)});
        }
        return out;
    }
    std::vector<NamedFd> links() const override {
        std::vector<NamedFd> out;
        for (size_t i = 0; i < links_.size(); ++i) out.push_back({link_progs_[i], bpf_link__fd(links_[i])});
        return out;
    }
    void keep_links(bool keep) override { keep_ = keep; }

    Result<std::vector<bw_preexisting>> scan_preexisting() override {
        bpf_link* link = bpf_program__attach_iter(skel_->progs.bw_iter_preexisting, nullptr);
        if (!link) return errno_error("attach iter/task_file");
        std::vector<bw_preexisting> out;
        const int fd = bpf_iter_create(bpf_link__fd(link));
        if (fd < 0) {
            const int err = errno;
            bpf_link__destroy(link);
            return Error{"create task_file iterator", err};
        }
        // The seq file holds whole entries; read() returns them in batches.
        std::vector<char> buf(64 * 1024);
        std::string pending;
        for (;;) {
            const ssize_t n = read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                const int err = errno;
                close(fd);
                bpf_link__destroy(link);
                return Error{"read task_file iterator", err};
            }
            if (n == 0) break;
            pending.append(buf.data(), size_t(n));
        }
        close(fd);
        bpf_link__destroy(link);
        if (pending.size() % sizeof(bw_preexisting) != 0)
            return Error{"task_file iterator returned " + std::to_string(pending.size()) + " bytes, not whole entries",
                         EBADMSG};
        out.resize(pending.size() / sizeof(bw_preexisting));
        std::memcpy(out.data(), pending.data(), pending.size());
        return out;
    }

    Skel* skel() { return skel_; }

private:
    Status attach_one(bpf_program* prog) {
        bpf_link* link = bpf_program__attach(prog);
        if (!link) {
            const int err = errno;
            std::string what = std::string("attach ") + bpf_program__section_name(prog);
            if (auto h = hint_(err); !h.empty()) what += " — " + h;
            return Error{what, err};
        }
        links_.push_back(link);
        link_progs_.push_back(bpf_program__name(prog));
        names_.push_back(bpf_program__section_name(prog));
        return std::nullopt;
    }

    Skel* skel_;
    EnforcementMode mode_;
    std::function<std::string(int)> hint_;
    std::vector<bpf_link*> links_;
    std::vector<std::string> link_progs_;
    std::vector<std::string> names_;
    bool reused_ = false;
    bool keep_ = false;
    std::string reuse_refused_;
};

using LsmEnforcerBase = SkeletonEnforcer<bulwark_lsm, bulwark_lsm__destroy>;
class LsmEnforcer final : public LsmEnforcerBase {
public:
    using LsmEnforcerBase::LsmEnforcerBase;
    std::vector<Limitation> limitations() const override {
        return {{"execAllowlist",
                 "an allowlisted file written in place through a descriptor opened before the policy was loaded "
                 "keeps its trust (writes are followed from their open)"}};
    }
};

using TpEnforcerBase = SkeletonEnforcer<bulwark_tracepoint, bulwark_tracepoint__destroy>;
class TracepointEnforcer final : public TpEnforcerBase {
public:
    TracepointEnforcer(bulwark_tracepoint* skel, bool protect_audit_only)
        : TpEnforcerBase(skel, EnforcementMode::tracepoint, [](int) { return std::string(); }),
          protect_audit_only_(protect_audit_only) {}
    std::vector<Limitation> limitations() const override {
        // Measured with tests/helpers/share_race (docs/modes.md).
        static constexpr const char* kSharedDescriptors =
            "the descriptor is in the table from the open until the kill: another thread of the opener can read "
            "it in that window (about 1 try in 100 when it spins on it), and a process sharing the table "
            "(CLONE_FILES) or given the descriptor in that window is not killed and keeps reading";
        return {
            {"protectedFiles",
             std::string("opens cannot be refused: ") +
                 (protect_audit_only_ ? "they are only reported (tracepointProtectedFiles: audit)"
                                      : "the opener is killed after the open succeeded (before it returns)") +
                 "; an O_TRUNC open has truncated the file before that; unlink, rename, link, truncate(2), chmod, "
                 "chown, times and xattr changes are not seen; opens through io_uring are not seen; descriptors "
                 "opened before the rule, or received from another process, keep reading and writing (reported as "
                 "preexisting); " + kSharedDescriptors},
            {"killOnOpen",
             std::string("the open succeeds and the opener's process is killed before the syscall returns; an "
                         "O_TRUNC open has truncated the file; opens through io_uring are not seen; ") +
                 kSharedDescriptors},
            {"execAllowlist",
             "the exec succeeds and the process is killed before its first instruction; for a script only its "
             "interpreter is checked; code mapped executable without an exec (ld.so run directly, LD_PRELOAD, "
             "dlopen) is not seen; content is not followed: an allowlisted program replaced by a package upgrade "
             "is refused until a reload, one rewritten in place runs as trusted"},
        };
    }

private:
    bool protect_audit_only_;
};

}  // namespace

const char* to_string(EnforcementMode m) { return m == EnforcementMode::lsm ? "lsm" : "tracepoint"; }

// Whether the running kernel's BTF has `name` of `kind`.
bool kernel_btf_has(const char* name, int kind) {
    btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return false;
    const bool found = btf__find_by_name_kind(vmlinux, name, kind) >= 0;
    btf__free(vmlinux);
    return found;
}
bool kernel_has_kfunc(const char* name) { return kernel_btf_has(name, BTF_KIND_FUNC); }

namespace {

// Bit offset of member `name` in struct `type_id`, looking inside anonymous
// struct and union members; -1 if there is none.
long member_bit_offset(const btf* b, __u32 type_id, const char* name) {
    const btf_type* t = btf__type_by_id(b, type_id);
    if (!t || (!btf_is_struct(t) && !btf_is_union(t))) return -1;
    const btf_member* m = btf_members(t);
    for (__u16 i = 0; i < btf_vlen(t); ++i, ++m) {
        const long here = static_cast<long>(btf_member_bit_offset(t, i));
        const char* n = btf__name_by_offset(b, m->name_off);
        if (n && *n) {
            if (std::strcmp(n, name) == 0) return here;
            continue;
        }
        const int inner_id = btf__resolve_type(b, m->type);
        if (inner_id < 0) continue;
        if (long inner = member_bit_offset(b, static_cast<__u32>(inner_id), name); inner >= 0) return here + inner;
    }
    return -1;
}

long member_byte_offset(const btf* b, const char* type, const char* member) {
    const int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
    if (id < 0) return -1;
    const long bits = member_bit_offset(b, static_cast<__u32>(id), member);
    return bits < 0 || bits % 8 != 0 ? -1 : bits / 8;
}

}  // namespace

bw_btrfs_layout kernel_btrfs_layout() {
    bw_btrfs_layout out{};
    btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return out;
    btf* module = access("/sys/kernel/btf/btrfs", R_OK) == 0 ? btf__parse_split("/sys/kernel/btf/btrfs", vmlinux)
                                                             : nullptr;
    const btf* b = module ? module : vmlinux;
    const long vfs_inode = member_byte_offset(b, "btrfs_inode", "vfs_inode");
    const long root = member_byte_offset(b, "btrfs_inode", "root");
    const long anon_dev = member_byte_offset(b, "btrfs_root", "anon_dev");
    if (vfs_inode >= 0 && root >= 0 && anon_dev >= 0) {
        out.known = 1;
        out.inode_vfs_inode = static_cast<__u32>(vfs_inode);
        out.inode_root = static_cast<__u32>(root);
        out.root_anon_dev = static_cast<__u32>(anon_dev);
    }
    btf__free(module);
    btf__free(vmlinux);
    return out;
}

std::string active_lsm_list() {
    std::ifstream in("/sys/kernel/security/lsm");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {

Result<std::unique_ptr<Enforcer>> load_lsm(const LoadOptions& opts) {
    const std::string lsms = active_lsm_list();
    if (!lsms.empty() && ("," + lsms + ",").find(",bpf,") == std::string::npos) {
        return Error{"BPF LSM is not enabled: the kernel's active LSMs are \"" + lsms +
                         "\" (add bpf to the lsm= boot parameter)",
                     EOPNOTSUPP};
    }
    bulwark_lsm* skel = bulwark_lsm__open();
    if (!skel) return errno_error("open BPF object lsm");
    auto e = std::make_unique<LsmEnforcer>(skel, EnforcementMode::lsm, lsm_hint);
    if (int err = bpf_map__set_max_entries(skel->maps.bw_events, opts.ring_buffer_bytes); err)
        return Error{"size ring buffer bw_events", -err};
    // inode_setattr: (dentry, attr) before 6.3, (idmap, dentry, attr) since.
    const bool idmap = kernel_btf_has("mnt_idmap", BTF_KIND_STRUCT);
    bpf_program__set_autoload(skel->progs.bw_lsm_inode_setattr, !idmap);
    bpf_program__set_autoload(skel->progs.bw_lsm_inode_setattr_idmap, idmap);
    skel->rodata->bw_btrfs = opts.btrfs;
    e->reuse(opts.reuse_maps);
    if (int err = bulwark_lsm__load(skel); err) {
        std::string what = "load BPF LSM programs";
        if (auto hint = lsm_hint(-err); !hint.empty()) what += " — " + hint;
        return Error{what, -err};
    }
    return std::unique_ptr<Enforcer>(std::move(e));
}

// How tracepoint mode sees the exit of an open (bpf/tracepoint/tracepoint.bpf.c).
enum class OpenExitHook {
    syscall_events,  // syscalls:sys_exit_<open syscall>, and tp_btf/sys_exit for ia32/x32 opens
    raw_direct,      // tp_btf/sys_exit, direct reads
    raw_compat,      // tp_btf/sys_exit, probe reads (no bpf_rdonly_cast)
};

// The syscall trace events exist and their ids can be read (tracefs is
// mounted where libbpf looks for it).
bool have_syscall_events() {
    for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
        const std::string id = std::string(dir) + "/events/syscalls/sys_exit_openat/id";
        if (access(id.c_str(), R_OK) == 0) return true;
    }
    return false;
}

Result<std::unique_ptr<Enforcer>> load_tracepoint(const LoadOptions& opts, OpenExitHook hook) {
    bulwark_tracepoint* skel = bulwark_tracepoint__open();
    if (!skel) return errno_error("open BPF object tracepoint");
    auto e = std::make_unique<TracepointEnforcer>(skel, opts.tracepoint_protect_audit_only);
    skel->rodata->bw_tp_settings.protect_audit_only = opts.tracepoint_protect_audit_only ? 1 : 0;
    if (int err = bpf_map__set_max_entries(skel->maps.bw_events, opts.ring_buffer_bytes); err)
        return Error{"size ring buffer bw_events", -err};
    const bool events = hook == OpenExitHook::syscall_events;
    for (bpf_program* p : {skel->progs.bw_tp_exit_open, skel->progs.bw_tp_exit_openat, skel->progs.bw_tp_exit_openat2,
                           skel->progs.bw_tp_exit_creat, skel->progs.bw_tp_exit_open_by_handle_at})
        bpf_program__set_autoload(p, events);
    // The syscall trace events skip ia32 (int $0x80, 32-bit programs) and
    // x32 syscalls: a raw sys_exit program takes those opens.
    bpf_program__set_autoload(skel->progs.bw_tp_sys_exit_untraced, events);
    bpf_program__set_autoload(skel->progs.bw_tp_sys_exit, hook == OpenExitHook::raw_direct);
    bpf_program__set_autoload(skel->progs.bw_tp_sys_exit_compat, hook == OpenExitHook::raw_compat);
    skel->rodata->bw_btrfs = opts.btrfs;
    e->reuse(opts.reuse_maps);
    if (int err = bulwark_tracepoint__load(skel); err) return Error{"load BPF tracepoint programs", -err};
    return std::unique_ptr<Enforcer>(std::move(e));
}

}  // namespace

const char* to_string(Variant v) {
    switch (v) {
        case Variant::lsm: return "lsm";
        case Variant::tp_syscall_events: return "tracepoint (syscall trace events)";
        case Variant::tp_raw: return "tracepoint (raw sys_exit)";
    }
    return "?";
}

EnforcementMode mode_of(Variant v) { return v == Variant::lsm ? EnforcementMode::lsm : EnforcementMode::tracepoint; }

std::string variant_unavailable(Variant v) {
    // Cheapest first within tracepoint mode: the per-syscall events (the
    // kernel runs the program for the open syscalls only) need tracefs and a
    // kernel that can cast a file pointer back to its type (6.2+).
    if (v == Variant::tp_syscall_events) {
        if (!kernel_has_kfunc("bpf_rdonly_cast")) return "the kernel has no bpf_rdonly_cast (before 6.2)";
        if (!have_syscall_events()) return "tracefs is not mounted";
    }
    return "";
}

Result<std::unique_ptr<Enforcer>> load(Variant v, const LoadOptions& opts) {
    libbpf_set_print(libbpf_print);
    switch (v) {
        case Variant::lsm: return load_lsm(opts);
        case Variant::tp_syscall_events: return load_tracepoint(opts, OpenExitHook::syscall_events);
        case Variant::tp_raw:
            return load_tracepoint(opts, kernel_has_kfunc("bpf_rdonly_cast") ? OpenExitHook::raw_direct
                                                                             : OpenExitHook::raw_compat);
    }
    return Error{"unknown variant", EINVAL};
}

}  // namespace bulwark
