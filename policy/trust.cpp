// trust.cpp — who may change what bulwarkd reads (policy.h, check_trusted).
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"

namespace bulwark::policy {
namespace {

std::string octal_mode(mode_t m)
{
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%04o", unsigned(m & 07777));
    return buf;
}

bool owner_trusted(const struct stat& st) { return st.st_uid == 0 || st.st_uid == ::geteuid(); }

}  // namespace

std::vector<Diagnostic> check_trusted(const std::string& path)
{
    std::vector<Diagnostic> out;
    auto refuse = [&](const std::string& why) {
        out.push_back(Diagnostic{Severity::error, Location{path, 0, 0},
                                 "refused: " + why +
                                     "; bulwarkd reads policy and settings only from files and directories that "
                                     "root alone can change"});
    };
    char resolved_buf[PATH_MAX];
    if (!::realpath(path.c_str(), resolved_buf))
        return out;  // missing: reading it reports that
    const std::string resolved = resolved_buf;
    struct stat lst {};
    const bool is_link = ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode);
    const std::string shown = is_link ? "its target " + resolved : "it";

    struct stat st {};
    if (::stat(resolved.c_str(), &st) != 0) {
        refuse("cannot stat " + resolved + ": " + std::strerror(errno));
        return out;
    }
    if (!owner_trusted(st))
        refuse(shown + " is owned by uid " + std::to_string(st.st_uid) + ", not root (chown root " + resolved + ")");
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        refuse(shown + " is writable by group or others (mode " + octal_mode(st.st_mode) + "; chmod go-w " +
               resolved + ")");
    // Every directory above it: whoever may write there may replace it
    // (unless the sticky bit keeps others' entries, as in /tmp).
    std::string dir = resolved;
    while (dir.size() > 1) {
        dir = dir.substr(0, dir.find_last_of('/'));
        if (dir.empty()) dir = "/";
        struct stat dst {};
        if (::stat(dir.c_str(), &dst) != 0) {
            refuse("cannot stat " + dir + ": " + std::strerror(errno));
            break;
        }
        if (!owner_trusted(dst))
            refuse(dir + ", a directory above " + shown + ", is owned by uid " + std::to_string(dst.st_uid) +
                   ", not root");
        else if ((dst.st_mode & (S_IWGRP | S_IWOTH)) && !(dst.st_mode & S_ISVTX))
            refuse(dir + ", a directory above " + shown + ", is writable by group or others without the sticky bit "
                   "(mode " + octal_mode(dst.st_mode) + ")");
    }
    return out;
}

}  // namespace bulwark::policy
