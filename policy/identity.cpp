// identity.cpp — kernel dev_t encoding and path -> (dev, inode) resolution.
#include "policy/identity.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace bulwark::policy {

namespace {
// include/linux/kdev_t.h (MINORBITS 20), same as BW_KDEV_MINORBITS.
constexpr unsigned kdev_minor_bits = 20;
constexpr uint64_t kdev_minor_mask = (uint64_t{1} << kdev_minor_bits) - 1;
}  // namespace

uint64_t kernel_dev_from_st_dev(uint64_t st_dev)
{
    const auto dev = static_cast<dev_t>(st_dev);
    return (static_cast<uint64_t>(major(dev)) << kdev_minor_bits) | (static_cast<uint64_t>(minor(dev)) & kdev_minor_mask);
}

std::string format_kernel_dev(uint64_t kdev)
{
    return std::to_string(kdev >> kdev_minor_bits) + ":" + std::to_string(kdev & kdev_minor_mask);
}

namespace detail {

Resolved resolve_path(const std::string& path)
{
    Resolved r;
    r.resolved = path;

    struct stat lst {};
    if (::lstat(path.c_str(), &lst) != 0) {
        r.err = errno;
        r.status = (r.err == ENOENT || r.err == ENOTDIR) ? Resolved::Status::missing : Resolved::Status::failed;
        return r;
    }
    if (S_ISLNK(lst.st_mode)) {
        r.symlink = true;
        std::string buf(PATH_MAX, '\0');
        const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
        if (n > 0) {
            buf.resize(static_cast<std::size_t>(n));
            r.link_target = std::move(buf);
        }
    }

    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        r.err = errno;
        r.status = (r.err == ENOENT || r.err == ENOTDIR) ? Resolved::Status::missing : Resolved::Status::failed;
        return r;
    }
    r.id = FileIdentity{kernel_dev_from_st_dev(static_cast<uint64_t>(st.st_dev)), static_cast<uint64_t>(st.st_ino)};
    r.mode = st.st_mode;
    r.status = Resolved::Status::ok;

    const std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
    if (real)
        r.resolved = real.get();
    return r;
}

}  // namespace detail
}  // namespace bulwark::policy
