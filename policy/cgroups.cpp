// cgroups.cpp — cgroup v2 mount discovery, unit search, cgroup directory checks.
#include "policy/cgroups.h"

#include <algorithm>
#include <cerrno>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "policy/limits.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace bulwark::policy::detail {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount_field(std::string_view s)
{
    const auto is_oct = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && is_oct(s[i + 1]) && is_oct(s[i + 2]) && is_oct(s[i + 3])) {
            out += static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
            i += 3;
            continue;
        }
        out += s[i];
    }
    return out;
}

std::vector<std::string_view> split_spaces(std::string_view line)
{
    std::vector<std::string_view> fields;
    std::size_t pos = 0;
    while (pos < line.size()) {
        const std::size_t start = line.find_first_not_of(' ', pos);
        if (start == std::string_view::npos)
            break;
        const std::size_t end = std::min(line.find(' ', start), line.size());
        fields.push_back(line.substr(start, end - start));
        pos = end;
    }
    return fields;
}

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

bool is_directory(const std::string& parent, const dirent& e)
{
    if (e.d_type == DT_DIR)
        return true;
    if (e.d_type != DT_UNKNOWN)
        return false;
    struct stat st {};
    const std::string path = parent + "/" + e.d_name;
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string find_cgroup2_mount(std::string_view mountinfo)
{
    std::size_t pos = 0;
    while (pos < mountinfo.size()) {
        std::size_t end = mountinfo.find('\n', pos);
        if (end == std::string_view::npos)
            end = mountinfo.size();
        const auto fields = split_spaces(mountinfo.substr(pos, end - pos));
        pos = end + 1;
        // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
        const auto sep = std::find(fields.begin(), fields.end(), "-");
        if (sep == fields.end() || sep - fields.begin() < 5 || fields.end() - sep < 2)
            continue;
        if (*(sep + 1) == "cgroup2")
            return unescape_mount_field(fields[4]);
    }
    return {};
}

std::string find_cgroup2_mount()
{
    std::ifstream in("/proc/self/mountinfo");
    if (!in)
        return {};
    std::ostringstream text;
    text << in.rdbuf();
    return find_cgroup2_mount(text.str());
}

CgroupTree::CgroupTree(const std::string& root)
{
    std::deque<std::pair<std::string, int>> queue;  // directory, depth (root = 0)
    queue.emplace_back(root.size() > 1 && root.back() == '/' ? root.substr(0, root.size() - 1) : root, 0);
    while (!queue.empty()) {
        auto [dir, depth] = std::move(queue.front());
        queue.pop_front();
        const std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
        if (!d)
            continue;  // vanished or unreadable: nothing below it is searched
        const std::string prefix = dir == "/" ? std::string() : dir;
        while (const dirent* e = ::readdir(d.get())) {
            const std::string_view name = e->d_name;
            if (name == "." || name == ".." || !is_directory(prefix, *e))
                continue;
            std::string child = prefix + "/" + std::string(name);
            by_name_[std::string(name)].push_back(child);
            if (depth + 1 < limits::max_unit_search_depth)
                queue.emplace_back(std::move(child), depth + 1);
        }
    }
}

std::vector<std::string> CgroupTree::find(const std::string& unit) const
{
    const auto it = by_name_.find(unit);
    if (it == by_name_.end())
        return {};
    std::vector<std::string> all = it->second;
    std::sort(all.begin(), all.end());
    // Drop matches below another match: they are in its scope anyway.
    std::vector<std::string> matches;
    for (auto& p : all) {
        const bool below = std::any_of(matches.begin(), matches.end(), [&p](const std::string& m) {
            return p.size() > m.size() && p.compare(0, m.size(), m) == 0 && p[m.size()] == '/';
        });
        if (!below)
            matches.push_back(std::move(p));
    }
    return matches;
}

std::vector<std::string> find_unit_cgroups(const std::string& root, const std::string& unit)
{
    return CgroupTree(root).find(unit);
}

CgroupDir check_cgroup_dir(const std::string& path, bool require_cgroup2)
{
    CgroupDir r;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        r.err = errno;
        r.status = (r.err == ENOENT || r.err == ENOTDIR) ? CgroupDir::Status::missing : CgroupDir::Status::failed;
        return r;
    }
    if (!S_ISDIR(st.st_mode)) {
        r.status = CgroupDir::Status::not_directory;
        return r;
    }
    if (require_cgroup2) {
        struct statfs fs {};
        if (::statfs(path.c_str(), &fs) != 0) {
            r.err = errno;
            r.status = CgroupDir::Status::failed;
            return r;
        }
        if (static_cast<unsigned long>(fs.f_type) != static_cast<unsigned long>(CGROUP2_SUPER_MAGIC)) {
            r.status = CgroupDir::Status::not_cgroup2;
            return r;
        }
    }
    r.id = static_cast<uint64_t>(st.st_ino);
    r.status = CgroupDir::Status::ok;
    return r;
}

}  // namespace bulwark::policy::detail
