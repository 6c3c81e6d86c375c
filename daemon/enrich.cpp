#include "daemon/enrich.h"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <vector>

namespace bulwark {
namespace {

std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string read_link(const std::string& path) {
    char buf[4096];
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

bool is_unit_name(const std::string& s) {
    for (const char* suffix : {".service", ".scope", ".socket", ".mount", ".swap", ".timer"}) {
        const std::string suf(suffix);
        if (s.size() > suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0) return true;
    }
    return false;
}

}  // namespace

std::string unit_from_cgroup_path(const std::string& cgroup_path) {
    std::string unit;
    size_t start = 0;
    while (start <= cgroup_path.size()) {
        size_t end = cgroup_path.find('/', start);
        if (end == std::string::npos) end = cgroup_path.size();
        std::string part = cgroup_path.substr(start, end - start);
        if (is_unit_name(part)) unit = part;  // the innermost unit wins
        start = end + 1;
    }
    return unit;
}

std::string Enricher::user_name(uint32_t uid) {
    if (auto it = users_.find(uid); it != users_.end()) return it->second;
    passwd pw{};
    passwd* res = nullptr;
    std::vector<char> buf(16384);
    std::string name;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res) name = pw.pw_name;
    if (users_.size() > 4096) users_.clear();
    users_[uid] = name;
    return name;
}

Enrichment Enricher::lookup(uint32_t pid, uint32_t ppid, uint32_t uid) {
    const auto now = std::chrono::steady_clock::now();
    // A pid is reused or exec's a new program rarely within a second; the
    // parent and uid are checked too.
    if (auto it = cache_.find(pid); it != cache_.end() && it->second.ppid == ppid && it->second.uid == uid &&
                                    now - it->second.at < std::chrono::seconds(1))
        return it->second.value;
    if (cache_.size() > 4096) cache_.clear();
    Enrichment e = read(pid, ppid, uid);
    cache_[pid] = Cached{e, ppid, uid, now};
    return e;
}

Enrichment Enricher::read(uint32_t pid, uint32_t ppid, uint32_t uid) {
    Enrichment e;
    const std::string base = proc_ + "/" + std::to_string(pid);
    e.exe = read_link(base + "/exe");
    if (e.exe.size() > 10 && e.exe.compare(e.exe.size() - 10, 10, " (deleted)") == 0) e.exe.resize(e.exe.size() - 10);
    e.parent_comm = read_first_line(proc_ + "/" + std::to_string(ppid) + "/comm");
    e.user = user_name(uid);
    // cgroup v2 line: "0::/system.slice/nginx.service"
    std::ifstream cg(base + "/cgroup");
    std::string line;
    while (std::getline(cg, line)) {
        if (line.rfind("0::", 0) == 0) {
            e.unit = unit_from_cgroup_path(line.substr(3));
            break;
        }
    }
    return e;
}

}  // namespace bulwark
