#include "daemon/self_guard.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include <bpf/bpf.h>
#include <systemd/sd-login.h>

#include "policy/policy.h"

namespace bulwark {
namespace {

bw_file_key key_of(const struct stat& st) {
    return bw_file_key{policy::kernel_dev_from_st_dev(static_cast<uint64_t>(st.st_dev)),
                       static_cast<uint64_t>(st.st_ino)};
}

std::string strip_deleted(std::string p) {
    const std::string deleted = " (deleted)";
    if (p.size() > deleted.size() && p.compare(p.size() - deleted.size(), deleted.size(), deleted) == 0)
        p.resize(p.size() - deleted.size());
    return p;
}

// The path this process was started from ("" when /proc says nothing).
std::string own_path() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) return "";
    return strip_deleted(std::string(buf, static_cast<size_t>(n)));
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

// Every file this process maps executable, by path (its binary, ld.so,
// its libraries), from /proc/self/maps.
std::vector<std::string> mapped_code() {
    std::vector<std::string> out;
    std::set<std::string> seen;
    std::ifstream in("/proc/self/maps");
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string range, perms, offset, dev, inode, path;
        f >> range >> perms >> offset >> dev >> inode;
        std::getline(f >> std::ws, path);
        if (perms.size() < 3 || perms[2] != 'x' || path.empty() || path[0] != '/') continue;
        path = strip_deleted(path);
        if (seen.insert(path).second) out.push_back(path);
    }
    return out;
}

// The unit file of this process's systemd unit and its drop-ins, wherever
// systemd looks for them ("" unit: none).
std::vector<std::string> unit_files() {
    char* unit = nullptr;
    if (sd_pid_get_unit(0, &unit) < 0 || !unit) return {};
    const std::string name(unit);
    free(unit);
    std::vector<std::string> out;
    for (const char* dir : {"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
                            "/usr/lib/systemd/system", "/lib/systemd/system"}) {
        out.push_back(std::string(dir) + "/" + name);
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(std::string(dir) + "/" + name + ".d", ec))
            if (e.path().extension() == ".conf") out.push_back(e.path().string());
    }
    return out;
}

}  // namespace

std::vector<SelfFile> collect_self_files(const std::vector<std::string>& installers, bool guard) {
    std::vector<SelfFile> wanted;  // by path; keys filled in below
    const std::string exe = own_path();
    if (guard) {
        for (const auto& p : mapped_code()) wanted.push_back({p, p == exe ? "binary" : "library"});
        // Installed side by side: PREFIX/sbin/bulwarkd, PREFIX/bin/bulwarkctl.
        if (!exe.empty())
            wanted.push_back(
                {std::filesystem::path(exe).parent_path().parent_path().string() + "/bin/bulwarkctl", "bulwarkctl"});
        for (const auto& p : unit_files())
            wanted.push_back({p, p.find(".d/") != std::string::npos ? "drop-in" : "unit"});
    }
    for (const auto& p : installers) wanted.push_back({p, "trusted installer", {}, BW_SELF_FILE_INSTALLER});

    std::map<std::pair<uint64_t, uint64_t>, size_t> index;  // one entry per file, whatever its names
    std::vector<SelfFile> out;
    for (SelfFile f : wanted) {
        struct stat st {};
        if (stat(f.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        f.key = key_of(st);
        if (guard) f.flags |= BW_SELF_FILE_GUARDED;
        auto [it, fresh] = index.emplace(std::make_pair(f.key.dev, f.key.ino), out.size());
        if (fresh)
            out.push_back(f);
        else
            out[it->second].flags |= f.flags;
    }
    return out;
}

Status write_self_files(int fd, const std::vector<SelfFile>& files) {
    std::set<std::pair<uint64_t, uint64_t>> keep;
    for (const auto& f : files) {
        if (bpf_map_update_elem(fd, &f.key, &f.flags, BPF_ANY) != 0) return errno_error("write bw_self_files");
        keep.insert({f.key.dev, f.key.ino});
    }
    std::vector<bw_file_key> stale;
    bw_file_key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        if (!keep.count({next.dev, next.ino})) stale.push_back(next);
        key = next;
        prev = &key;
    }
    for (const auto& k : stale)
        if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT) return errno_error("clear bw_self_files");
    return std::nullopt;
}

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
