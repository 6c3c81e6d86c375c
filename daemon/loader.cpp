#include "daemon/loader.h"

#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

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

// Everything both modes share: the skeleton, its links, its maps.
template <typename Skel, void (*Destroy)(Skel*)>
class SkeletonEnforcer : public Enforcer {
public:
    SkeletonEnforcer(Skel* skel, EnforcementMode mode) : skel_(skel), mode_(mode) {}
    ~SkeletonEnforcer() override {
        for (bpf_link* l : links_) bpf_link__destroy(l);
        Destroy(skel_);
    }
    EnforcementMode mode() const override { return mode_; }
    PolicyMapFds maps() const override {
        return PolicyMapFds{
            bpf_map__fd(skel_->maps.bw_files),  bpf_map__fd(skel_->maps.bw_exec),
            bpf_map__fd(skel_->maps.bw_scopes), bpf_map__fd(skel_->maps.bw_config),
            bpf_map__fd(skel_->maps.bw_dir_filter), bpf_map__fd(skel_->maps.bw_state),
            bpf_map__fd(skel_->maps.bw_counters),
        };
    }
    int events_fd() const override { return bpf_map__fd(skel_->maps.bw_events); }
    const std::vector<std::string>& attached() const override { return names_; }

    // Attaches every program of the object (as its section says).
    Status attach_all(const std::function<std::string(int)>& hint) {
        bpf_program* prog = nullptr;
        bpf_object__for_each_program(prog, skel_->obj) {
            if (!bpf_program__autoload(prog)) continue;  // a variant this kernel does not use
            bpf_link* link = bpf_program__attach(prog);
            if (!link) {
                const int err = errno;
                std::string what = std::string("attach ") + bpf_program__section_name(prog);
                if (auto h = hint(err); !h.empty()) what += " — " + h;
                return Error{what, err};
            }
            links_.push_back(link);
            names_.push_back(bpf_program__section_name(prog));
        }
        return std::nullopt;
    }

    Skel* skel() { return skel_; }

private:
    Skel* skel_;
    EnforcementMode mode_;
    std::vector<bpf_link*> links_;
    std::vector<std::string> names_;
};

using LsmEnforcerBase = SkeletonEnforcer<bulwark_lsm, bulwark_lsm__destroy>;
class LsmEnforcer final : public LsmEnforcerBase {
public:
    using LsmEnforcerBase::LsmEnforcerBase;
    std::vector<Limitation> limitations() const override { return {}; }
};

using TpEnforcerBase = SkeletonEnforcer<bulwark_tracepoint, bulwark_tracepoint__destroy>;
class TracepointEnforcer final : public TpEnforcerBase {
public:
    TracepointEnforcer(bulwark_tracepoint* skel, bool protect_audit_only)
        : TpEnforcerBase(skel, EnforcementMode::tracepoint), protect_audit_only_(protect_audit_only) {}
    std::vector<Limitation> limitations() const override {
        return {
            {"protectedFiles",
             std::string("opens cannot be refused: ") +
                 (protect_audit_only_ ? "they are only reported (tracepointProtectedFiles: audit)"
                                      : "the opener is killed after the open succeeded (before it returns)") +
                 "; an O_TRUNC open has truncated the file before that; unlink, rename, link, truncate(2), chmod, "
                 "chown and xattr changes are not seen; opens through io_uring are not seen"},
            {"killOnOpen",
             "the open succeeds and the opener is killed before the syscall returns (it reads nothing); an O_TRUNC "
             "open has truncated the file; opens through io_uring are not seen"},
            {"execAllowlist",
             "the exec succeeds and the process is killed before its first instruction; for a script only its "
             "interpreter is checked"},
        };
    }

private:
    bool protect_audit_only_;
};

}  // namespace

const char* to_string(EnforcementMode m) { return m == EnforcementMode::lsm ? "lsm" : "tracepoint"; }

// Whether the running kernel has kfunc `name` (its BTF says so).
bool kernel_has_kfunc(const char* name) {
    btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return false;
    const bool found = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) >= 0;
    btf__free(vmlinux);
    return found;
}

std::string active_lsm_list() {
    std::ifstream in("/sys/kernel/security/lsm");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Result<std::unique_ptr<Enforcer>> load_lsm(const LoadOptions& opts) {
    libbpf_set_print(libbpf_print);
    const std::string lsms = active_lsm_list();
    if (!lsms.empty() && ("," + lsms + ",").find(",bpf,") == std::string::npos) {
        return Error{"BPF LSM is not enabled: the kernel's active LSMs are \"" + lsms +
                         "\" (add bpf to the lsm= boot parameter)",
                     EOPNOTSUPP};
    }
    bulwark_lsm* skel = bulwark_lsm__open();
    if (!skel) return errno_error("open BPF object lsm");
    auto e = std::make_unique<LsmEnforcer>(skel, EnforcementMode::lsm);
    if (int err = bpf_map__set_max_entries(skel->maps.bw_events, opts.ring_buffer_bytes); err)
        return Error{"size ring buffer bw_events", -err};
    if (int err = bulwark_lsm__load(skel); err) {
        std::string what = "load BPF LSM programs";
        if (auto hint = lsm_hint(-err); !hint.empty()) what += " — " + hint;
        return Error{what, -err};
    }
    if (auto err = e->attach_all(lsm_hint)) return *err;
    return std::unique_ptr<Enforcer>(std::move(e));
}

namespace {

// How tracepoint mode sees the exit of an open (bpf/tracepoint/tracepoint.bpf.c).
enum class OpenExitHook {
    syscall_events,  // syscalls:sys_exit_<open syscall>: nothing on other syscalls
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

Result<std::unique_ptr<Enforcer>> load_tracepoint_with(const LoadOptions& opts, OpenExitHook hook) {
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
    bpf_program__set_autoload(skel->progs.bw_tp_sys_exit, hook == OpenExitHook::raw_direct);
    bpf_program__set_autoload(skel->progs.bw_tp_sys_exit_compat, hook == OpenExitHook::raw_compat);
    if (int err = bulwark_tracepoint__load(skel); err) return Error{"load BPF tracepoint programs", -err};
    if (auto err = e->attach_all([](int) { return std::string(); })) return *err;
    return std::unique_ptr<Enforcer>(std::move(e));
}

}  // namespace

Result<std::unique_ptr<Enforcer>> load_tracepoint(const LoadOptions& opts) {
    libbpf_set_print(libbpf_print);
    // Cheapest first: the per-syscall events (the kernel runs the program
    // for the open syscalls only) where tracefs is mounted and the kernel
    // can cast a file pointer back to its type (6.2+); else the raw
    // sys_exit tracepoint, which runs for every syscall.
    const bool direct = kernel_has_kfunc("bpf_rdonly_cast");
    if (direct && have_syscall_events()) {
        auto e = load_tracepoint_with(opts, OpenExitHook::syscall_events);
        if (e) return e;
        log::get("loader")->warn("syscall trace events unusable ({}); using the raw sys_exit tracepoint",
                                 e.error().to_string());
    }
    return load_tracepoint_with(opts, direct ? OpenExitHook::raw_direct : OpenExitHook::raw_compat);
}

}  // namespace bulwark
