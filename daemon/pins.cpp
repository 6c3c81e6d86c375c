#include "daemon/pins.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <set>
#include <vector>

#include <bpf/bpf.h>

#include "daemon/map_writer.h"

namespace bulwark {
namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
    return out;
}

Status make_dir(const std::string& path) {
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create " + path);
    struct stat st{};
    if (lstat(path.c_str(), &st) != 0) return errno_error("stat " + path);
    if (!S_ISDIR(st.st_mode)) return Error{path + " is not a directory", ENOTDIR};
    return std::nullopt;
}

// bpffs refuses names with a dot (reserved for the kernel's own files): a
// pin being made is "pending_<name>" until it is renamed into place.
constexpr const char* kPendingPrefix = "pending_";

// Pins `fd` at `dir/name`, replacing what is there in one rename.
Status pin_replacing(int fd, const std::string& dir, const std::string& name) {
    const std::string tmp = dir + "/" + kPendingPrefix + name, final_path = dir + "/" + name;
    unlink(tmp.c_str());
    if (bpf_obj_pin(fd, tmp.c_str()) != 0) return errno_error("pin " + tmp);
    if (rename(tmp.c_str(), final_path.c_str()) != 0) {
        Error e = errno_error("rename " + tmp + " to " + final_path);
        unlink(tmp.c_str());
        return e;
    }
    return std::nullopt;
}

uint32_t object_id(int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace

std::map<std::string, int> AdoptedPins::reusable_maps() const {
    std::map<std::string, int> out;
    if (!not_reusable.empty()) return out;
    for (const auto& [name, fd] : maps) out[name] = fd.get();
    return out;
}

Result<PinDir> PinDir::open(const std::string& dir) {
    if (dir.empty() || dir[0] != '/') return Error{"pinDir must be an absolute path: \"" + dir + "\"", EINVAL};
    const std::string parent = dir.substr(0, std::max<size_t>(dir.rfind('/'), 1));
    struct statfs fs{};
    if (statfs(parent.c_str(), &fs) != 0) return errno_error("statfs " + parent);
    if (fs.f_type != kBpfFsMagic)
        return Error{parent + " is not a bpf filesystem (mount -t bpf bpf " + parent + ")", ENOTSUP};
    for (const std::string& d : {dir, dir + "/maps", dir + "/links"})
        if (auto e = make_dir(d)) return *e;
    return PinDir(dir);
}

namespace {

// A pinned map, waiting while the kernel refuses it for self-protection:
// the previous bulwarkd's process may not have exited yet (the programs
// hand over once it has, docs/architecture.md "Self-protection").  Bounded.
int obj_get_waiting(const std::string& path, bool& refused) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        const int fd = bpf_obj_get(path.c_str());
        if (fd >= 0 || errno != EPERM) return fd;
        if (refused || std::chrono::steady_clock::now() >= deadline) {
            refused = true;
            errno = EPERM;
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace

AdoptedPins PinDir::adopt() const {
    AdoptedPins a;
    bool refused = false;
    for (const auto& n : names_in(dir_ + "/maps")) {
        if (n.rfind(kPendingPrefix, 0) == 0) continue;  // half made by a bulwarkd that died
        int fd = obj_get_waiting(dir_ + "/maps/" + n, refused);
        if (fd >= 0) a.maps.emplace(n, UniqueFd(fd));
    }
    if (refused) {
        a.refused = "the kernel refuses this process bulwark's pinned maps in " + dir_ +
                    " (self-protection: only a bulwarkd binary the running programs know may take over)";
        return a;
    }
    for (const auto& n : names_in(dir_ + "/links")) {
        if (n.rfind(kPendingPrefix, 0) == 0) continue;
        int fd = bpf_obj_get((dir_ + "/links/" + n).c_str());
        if (fd >= 0) a.links.emplace(n, UniqueFd(fd));
    }
    auto st = a.maps.find("bw_state");
    auto cfg = a.maps.find("bw_config");
    if (st == a.maps.end() || cfg == a.maps.end()) {
        if (!a.maps.empty()) a.not_reusable = "bw_state or bw_config is not pinned";
        return a;
    }
    const uint32_t zero = 0;
    bw_state raw{};
    if (bpf_map_lookup_elem(st->second.get(), &zero, &raw) == 0 && raw.magic == BW_STATE_MAGIC &&
        raw.abi != BW_ABI_VERSION) {
        a.not_reusable = "they were written for ABI version " + std::to_string(raw.abi) + ", this bulwarkd has " +
                         std::to_string(BW_ABI_VERSION);
        return a;
    }
    a.state = read_valid_state(st->second.get(), cfg->second.get());
    if (!a.state) a.not_reusable = "bw_state does not name a complete generation";
    return a;
}

Status PinDir::pin(const Enforcer& e) const {
    std::set<std::string> maps, links;
    for (const auto& m : e.pinnable_maps()) {
        maps.insert(m.name);
        const std::string path = dir_ + "/maps/" + m.name;
        int old = bpf_obj_get(path.c_str());
        const bool same = old >= 0 && object_id(old) == object_id(m.fd);
        if (old >= 0) close(old);
        if (same) continue;
        if (auto err = pin_replacing(m.fd, dir_ + "/maps", m.name)) return err;
    }
    for (const auto& l : e.links()) {
        links.insert(l.name);
        if (auto err = pin_replacing(l.fd, dir_ + "/links", l.name)) return err;
    }
    // What the previous set had and this one has not (another mode's links).
    for (const auto& n : names_in(dir_ + "/links"))
        if (!links.count(n)) unlink((dir_ + "/links/" + n).c_str());
    for (const auto& n : names_in(dir_ + "/maps"))
        if (!maps.count(n)) unlink((dir_ + "/maps/" + n).c_str());
    return std::nullopt;
}

Status PinDir::remove_all() const {
    Status first;
    for (const char* sub : {"/links", "/maps"}) {
        for (const auto& n : names_in(dir_ + sub)) {
            const std::string p = dir_ + sub + "/" + n;
            if (unlink(p.c_str()) != 0 && !first) first = errno_error("unpin " + p);
        }
        rmdir((dir_ + sub).c_str());
    }
    rmdir(dir_.c_str());
    return first;
}

}  // namespace bulwark
