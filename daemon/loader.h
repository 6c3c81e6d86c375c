// loader.h — opens and loads the BPF object of one enforcement mode (reusing
// the maps a previous bulwarkd pinned when they are compatible) and attaches
// its programs.  Loading and attaching are two steps: bulwarkd writes the
// first generation into the maps before any program it attached can run
// (daemon/startup.cpp).  The feature probe is the real load and attach: if
// either fails, that mode is not available here, and the error says which
// step failed and why.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bulwark_abi.h"
#include "daemon/error.h"

namespace bulwark {

enum class EnforcementMode { lsm, tracepoint };
const char* to_string(EnforcementMode m);

// File descriptors of the maps every enforcement mode shares (owned by the
// loaded object; valid while it lives).
struct PolicyMapFds {
    int files_outer = -1;
    int exec_outer = -1;
    int scopes_outer = -1;
    int config = -1;
    int dir_filter = -1;
    int state = -1;
    int counters = -1;
    int fence = -1;
    int self = -1;  // bw_self: the running bulwarkd (bulwark_abi.h)
    int mounts_outer = -1;
    int self_files = -1;  // bw_self_files: bulwark's own files (self_guard.h)
    int units_outer = -1;  // bw_units: unit names of scopes, per slot (bpf/units.bpf.h)
    int names_outer = -1;  // bw_names: file rules bound to paths, per slot
};

struct LoadOptions {
    uint32_t ring_buffer_bytes = 1u << 20;
    // tracepoint mode: protected files are only reported, not killed.
    bool tracepoint_protect_audit_only = false;
    // A previous bulwarkd's pinned maps, by map name (daemon/pins.h).  Used
    // when every one of them matches this object's definition; else none is.
    std::map<std::string, int> reuse_maps;
    // Where btrfs keeps a file's subvolume device (kernel_btrfs_layout());
    // .known == 0: btrfs files are keyed by their superblock's device.
    bw_btrfs_layout btrfs{};
};

// The field offsets bpf/identity.bpf.h needs to key a btrfs file as stat()
// does, from the running kernel's BTF (btrfs's module BTF file, or vmlinux
// when btrfs is built in).  .known == 0 when btrfs is not loaded or its
// types lack a field.  Read here, not by libbpf CO-RE: CO-RE on a module's
// types makes libbpf walk every kernel BTF object, which needs
// CAP_SYS_ADMIN, a capability bulwark.service does not have.
bw_btrfs_layout kernel_btrfs_layout();

// What one rule kind gets in a mode, for status and logs.
struct Limitation {
    std::string rule_kind;  // "protectedFiles", "killOnOpen", "execAllowlist"
    std::string text;
};

// A named kernel object of the loaded set (program, map or link) and its fd.
struct NamedFd {
    std::string name;
    int fd = -1;
};

// A loaded BPF object.  Destroying it detaches every link it attached
// unless keep_links() was called (they are pinned and outlive bulwarkd).
class Enforcer {
public:
    virtual ~Enforcer() = default;
    virtual EnforcementMode mode() const = 0;
    virtual PolicyMapFds maps() const = 0;
    virtual int events_fd() const = 0;
    // The maps were a previous bulwarkd's (LoadOptions::reuse_maps).
    virtual bool reused_maps() const = 0;
    // Why they were not, when reuse was asked for ("" otherwise).
    virtual const std::string& reuse_refused() const = 0;
    // Attaches every program (as its section says).
    virtual Status attach() = 0;
    virtual const std::vector<std::string>& attached() const = 0;  // "lsm/file_open", ...
    virtual std::vector<NamedFd> programs() const = 0;             // loaded programs
    virtual std::vector<NamedFd> pinnable_maps() const = 0;        // bw_* maps
    virtual std::vector<NamedFd> links() const = 0;                // by program name, after attach()
    // Whether the links stay attached when this object goes (they are
    // pinned): set once they are pinned, cleared to detach.
    virtual void keep_links(bool keep) = 0;
    // What this mode cannot do, per rule kind (empty for LSM mode).
    virtual std::vector<Limitation> limitations() const = 0;
    // Runs the preexisting-descriptor iterator (bpf/preexisting.bpf.h) over
    // every open descriptor once: the generation in force reports each one
    // a rule covers, and returns those whose holder bulwarkd must take
    // (pidfd_getfd) so that the LSM marks their inode (daemon/preexisting.h).
    virtual Result<std::vector<bw_preexisting>> scan_preexisting() = 0;
    // Attaches the per-access check (LSM file_permission) if it is not yet:
    // it is needed only once a preexisting descriptor's inode is marked, so
    // reads and writes on a host without one pass no hook of bulwark's.
    // True when it was attached now; false when already attached or the
    // mode has none.
    virtual Result<bool> attach_access_checks() = 0;
};

// The ways bulwarkd can enforce; daemon/startup.cpp tries them in this
// order (as far as the `mode` setting allows) and keeps the first that loads
// and attaches.
enum class Variant {
    lsm,                // BPF LSM: refuses
    tp_syscall_events,  // tracepoint mode on syscalls:sys_exit_<open syscall>
    tp_raw,             // tracepoint mode on the raw sys_exit tracepoint
};
const char* to_string(Variant v);
EnforcementMode mode_of(Variant v);
// Why `v` cannot even be tried here ("" if it can).
std::string variant_unavailable(Variant v);
// Opens and loads (does not attach) the object of `v`.
Result<std::unique_ptr<Enforcer>> load(Variant v, const LoadOptions& opts);

// The kernel's active LSM list (/sys/kernel/security/lsm), or "" if unreadable.
std::string active_lsm_list();

}  // namespace bulwark
