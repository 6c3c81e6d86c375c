#include "daemon/self_guard.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include <bpf/bpf.h>

#include "policy/policy.h"

namespace bulwark {
namespace {

bw_file_key key_of(const struct stat& st) {
    return bw_file_key{policy::kernel_dev_from_st_dev(static_cast<uint64_t>(st.st_dev)),
                       static_cast<uint64_t>(st.st_ino)};
}

// The path this process was started from ("" when /proc says nothing).
std::string own_path() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) return "";
    std::string p(buf, static_cast<size_t>(n));
    const std::string deleted = " (deleted)";
    if (p.size() > deleted.size() && p.compare(p.size() - deleted.size(), deleted.size(), deleted) == 0)
        p.resize(p.size() - deleted.size());
    return p;
}

// When this process started, in clock ticks since boot (/proc/self/stat
// field 22; the kernel side compares it with the task's start time).
Result<uint64_t> own_start_ticks() {
    std::ifstream in("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return Error{"cannot read /proc/self/stat", EIO};
    std::istringstream fields(stat.substr(paren + 1));
    std::string f;
    for (int i = 3; i <= 22 && fields >> f; ++i)
        if (i == 22) return std::stoull(f);
    return Error{"/proc/self/stat has no start time", EIO};
}

}  // namespace

Result<bw_self> write_self(int self_fd, const SelfSpec& spec) {
    bw_self self{};
    struct stat st {};
    self.tgid = static_cast<uint32_t>(getpid());
    // PID 1's mount namespace; 0 when this process may not see it (a
    // container): mounts are then judged in every namespace.
    self.host_mnt_ns = stat("/proc/1/ns/mnt", &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
    self.flags = spec.protect ? BW_SELF_PROTECT : 0;
    auto start = own_start_ticks();
    if (!start) return start.error();
    self.start_ticks = *start;
    // The binary this process runs (the kernel's own open file: renames and
    // replacements do not change what it names).
    if (stat("/proc/self/exe", &st) != 0) return errno_error("stat /proc/self/exe");
    self.exe[0] = key_of(st);
    if (!spec.pin_dir.empty()) {
        const std::string dirs[3] = {spec.pin_dir, spec.pin_dir + "/maps", spec.pin_dir + "/links"};
        for (int i = 0; i < 3; ++i) {
            if (stat(dirs[i].c_str(), &st) != 0) return errno_error("stat " + dirs[i]);
            self.pin_dirs[i] = st.st_ino;
            self.pin_dev = key_of(st).dev;
        }
    }
    const uint32_t zero = 0;
    if (bpf_map_update_elem(self_fd, &zero, &self, BPF_ANY) != 0) return errno_error("write bw_self");
    return self;
}

Status name_successor(int self_fd, bw_self& self) {
    const std::string path = own_path();
    struct stat st {};
    if (path.empty() || stat(path.c_str(), &st) != 0) return errno_error("stat " + (path.empty() ? "/proc/self/exe" : path));
    const bw_file_key now = key_of(st);
    if (now.dev == self.exe[0].dev && now.ino == self.exe[0].ino) return std::nullopt;
    bw_self next = self;
    next.exe[1] = now;
    const uint32_t zero = 0;
    if (bpf_map_update_elem(self_fd, &zero, &next, BPF_ANY) != 0) return errno_error("write bw_self");
    self = next;
    return std::nullopt;
}

}  // namespace bulwark
