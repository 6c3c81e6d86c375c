// self_guard.h — who bulwarkd is, told to the kernel side (bw_self): its
// process, the host's mount namespace, its binary, its pin directory, and
// whether the LSM hooks refuse everyone else bulwark's own objects
// (docs/architecture.md, "Self-protection").
#pragma once

#include <string>
#include <vector>

#include "bulwark_abi.h"
#include "daemon/error.h"

namespace bulwark {

struct SelfSpec {
    bool protect = false;  // selfProtection in force (LSM mode only)
    std::string pin_dir;   // "" when nothing is pinned
};

// Writes bw_self for this process and returns what it wrote.
Result<bw_self> write_self(int self_fd, const SelfSpec& spec);

// At an exit that leaves enforcement pinned (a restart, an upgrade): names
// the binary now at this bulwarkd's path as the second one that may take
// over (dpkg replaces it by rename).  Updates `self` to what it wrote.
Status name_successor(int self_fd, bw_self& self);

// One of bulwark's own files (bw_self_files), found by its path.
struct SelfFile {
    std::string path;
    std::string what;  // "binary", "library", "bulwarkctl", "unit", "drop-in", "trusted installer"
    bw_file_key key{};
    uint32_t flags = 0;  // BW_SELF_FILE_*
};


// bulwark's own files as they are now at their paths: the binary this
// process runs and every file it maps executable (its libraries), the
// bulwarkctl installed with it (PREFIX/bin beside PREFIX/sbin), the
// systemd unit of this process and its drop-ins, and the trusted
// installers' binaries (themselves guarded; `installers`, the setting
// trustedInstallers: processes running one of these may change bulwark's
// own files and replace allowlisted programs).  Paths that do not exist are
// left out.  `guard` false (self-protection off): only the installers, with
// BW_SELF_FILE_INSTALLER alone (nothing is guarded, an upgrade still keeps
// an allowlisted program's trust).
std::vector<SelfFile> collect_self_files(const std::vector<std::string>& installers, bool guard = true);

// Makes bw_self_files hold exactly `files`.
Status write_self_files(int fd, const std::vector<SelfFile>& files);

}  // namespace bulwark
