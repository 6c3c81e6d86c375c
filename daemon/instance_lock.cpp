#include "daemon/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace bulwark {

Result<UniqueFd> acquire_instance_lock(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        const std::string dir = path.substr(0, slash);
        if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create " + dir);
    }
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return errno_error("open lock " + path);
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char buf[32] = {};
        const ssize_t n = pread(fd.get(), buf, sizeof(buf) - 1, 0);
        std::string who = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
        while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
        if (err == EWOULDBLOCK)
            return Error{"another bulwarkd" + (who.empty() ? std::string() : " (pid " + who + ")") +
                             " is running: it holds " + path + "; only one bulwarkd runs at a time",
                         EBUSY};
        return Error{"lock " + path, err};
    }
    // The file we locked must still be the one at `path` (not unlinked and
    // replaced between our open and our flock).
    struct stat held{}, now{};
    if (fstat(fd.get(), &held) != 0 || stat(path.c_str(), &now) != 0 || held.st_ino != now.st_ino ||
        held.st_dev != now.st_dev)
        return Error{"lock " + path + ": the file was replaced while taking the lock", EBUSY};
    const std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(fd.get(), 0) != 0 || pwrite(fd.get(), pid.data(), pid.size(), 0) < 0)
        return errno_error("write pid to " + path);
    return fd;
}

}  // namespace bulwark
