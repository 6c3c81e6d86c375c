#include "daemon/loader.h"

#include <fstream>
#include <sstream>

#include <bpf/libbpf.h>

#include "bulwark_abi.h"  // the skeleton embeds these types
#include "daemon/log.h"
#include "lsm.skel.h"

namespace bulwark {
namespace {

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
    // libbpf's own messages (verifier logs on failure) go to the loader log.
    if (level == LIBBPF_DEBUG) return 0;
    char buf[4096];
    const int n = vsnprintf(buf, sizeof(buf), fmt, args);
    std::string line(buf, n > 0 ? std::min<size_t>(size_t(n), sizeof(buf) - 1) : 0);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty()) log::get("libbpf")->warn("{}", line);
    return n;
}

std::string attach_hint(int err) {
    if (err == EPERM)
        return "the kernel refused the BPF trampoline (function tracing disabled, lockdown, or "
               "missing CAP_BPF/CAP_SYS_ADMIN)";
    if (err == EINVAL || err == EOPNOTSUPP || err == 524 /* ENOTSUPP */)
        return "BPF LSM is not active on this kernel";
    return "";
}

}  // namespace

const char* to_string(EnforcementMode m) { return m == EnforcementMode::lsm ? "lsm" : "tracepoint"; }

std::string active_lsm_list() {
    std::ifstream in("/sys/kernel/security/lsm");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Result<std::unique_ptr<LsmPrograms>> LsmPrograms::load(const LoadOptions& opts) {
    libbpf_set_print(libbpf_print);
    const std::string lsms = active_lsm_list();
    if (!lsms.empty() && ("," + lsms + ",").find(",bpf,") == std::string::npos) {
        return Error{"BPF LSM is not enabled: the kernel's active LSMs are \"" + lsms +
                         "\" (add bpf to the lsm= boot parameter)",
                     EOPNOTSUPP};
    }

    bulwark_lsm* skel = bulwark_lsm__open();
    if (!skel) return errno_error("open BPF object lsm");
    std::unique_ptr<LsmPrograms> progs(new LsmPrograms(skel));

    if (int err = bpf_map__set_max_entries(skel->maps.bw_events, opts.ring_buffer_bytes); err)
        return Error{"size ring buffer bw_events", -err};
    if (int err = bulwark_lsm__load(skel); err) {
        std::string what = "load BPF LSM programs";
        if (auto hint = attach_hint(-err); !hint.empty()) what += " — " + hint;
        return Error{what, -err};
    }

    struct {
        bpf_program* prog;
        bpf_link** link;
        const char* hook;
    } hooks[] = {
        {skel->progs.bw_lsm_file_open, &skel->links.bw_lsm_file_open, "lsm/file_open"},
        {skel->progs.bw_lsm_bprm_check, &skel->links.bw_lsm_bprm_check, "lsm/bprm_check_security"},
    };
    for (auto& h : hooks) {
        bpf_link* link = bpf_program__attach_lsm(h.prog);
        if (!link) {
            const int err = errno;
            std::string what = std::string("attach ") + h.hook;
            if (auto hint = attach_hint(err); !hint.empty()) what += " — " + hint;
            return Error{what, err};
        }
        *h.link = link;  // owned by the skeleton: detached by bulwark_lsm__destroy
    }
    return progs;
}

LsmPrograms::~LsmPrograms() { bulwark_lsm__destroy(skel_); }

PolicyMapFds LsmPrograms::maps() const {
    return PolicyMapFds{
        bpf_map__fd(skel_->maps.bw_files),  bpf_map__fd(skel_->maps.bw_exec),
        bpf_map__fd(skel_->maps.bw_scopes), bpf_map__fd(skel_->maps.bw_config),
        bpf_map__fd(skel_->maps.bw_state),  bpf_map__fd(skel_->maps.bw_counters),
    };
}

int LsmPrograms::events_fd() const { return bpf_map__fd(skel_->maps.bw_events); }

}  // namespace bulwark
