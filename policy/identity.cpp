// identity.cpp — kernel dev_t encoding and path -> (dev, inode) resolution.
#include "policy/identity.h"

#include <cerrno>
#include <cstdio>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>
#include <memory>

#include <fcntl.h>
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

bool kernel_btf_knows_btrfs()
{
    // libbpf finds a type in vmlinux's BTF or a module's, /sys/kernel/btf/<module>.
    if (::access("/sys/kernel/btf/btrfs", R_OK) == 0)
        return true;
    std::ifstream in("/sys/kernel/btf/vmlinux", std::ios::binary);
    const std::string btf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    static constexpr char name[] = "\0btrfs_inode\0";  // a name in the string section
    return btf.find(std::string_view(name, sizeof(name) - 1)) != std::string::npos;
}

namespace detail {

uint64_t superblock_dev(const std::string& path)
{
    struct statx stx {};
    if (::statx(AT_FDCWD, path.c_str(), 0, STATX_MNT_ID, &stx) != 0 || !(stx.stx_mask & STATX_MNT_ID))
        return 0;
    // mountinfo: "ID PARENT MAJOR:MINOR ROOT ...", one mount per line.
    std::ifstream in("/proc/self/mountinfo");
    const std::string want = std::to_string(stx.stx_mnt_id) + " ";
    for (std::string line; std::getline(in, line);) {
        if (line.compare(0, want.size(), want) != 0)
            continue;
        unsigned long long id = 0, parent = 0;
        unsigned maj = 0, min = 0;
        if (std::sscanf(line.c_str(), "%llu %llu %u:%u", &id, &parent, &maj, &min) != 4)
            return 0;
        return (uint64_t{maj} << kdev_minor_bits) | (uint64_t{min} & kdev_minor_mask);
    }
    return 0;
}

uint32_t inode_generation(const std::string& path, uint64_t ino)
{
    alignas(struct file_handle) unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ] = {};
    auto* fh = reinterpret_cast<struct file_handle*>(buf);
    fh->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    if (::name_to_handle_at(AT_FDCWD, path.c_str(), fh, &mount_id, AT_SYMLINK_FOLLOW) != 0)
        return 0;
    const unsigned n = fh->handle_bytes;
    const unsigned char* b = buf + sizeof(struct file_handle);
    auto u32_at = [&](unsigned off) {
        uint32_t v = 0;
        std::memcpy(&v, b + off, sizeof(v));
        return v;
    };
    auto u64_at = [&](unsigned off) {
        uint64_t v = 0;
        std::memcpy(&v, b + off, sizeof(v));
        return v;
    };
    const auto ino32 = static_cast<uint32_t>(ino);
    switch (fh->handle_type) {
    case 1:  // FILEID_INO32_GEN
    case 2:  // FILEID_INO32_GEN_PARENT
        // ext2/3/4, xfs and the kernel's default: {ino, gen, ...}.
        if (n == 8 || n == 16)
            return u32_at(0) == ino32 ? u32_at(4) : 0;
        // tmpfs: {gen, ino low, ino high}.
        if (n == 12 && u32_at(4) == ino32 && u32_at(8) == static_cast<uint32_t>(ino >> 32))
            return u32_at(0);
        return 0;
    case 0x81:  // xfs, 64-bit inode numbers: {u64 ino, u32 gen, ...}
    case 0x82:
        return n >= 12 && u64_at(0) == ino ? u32_at(8) : 0;
    case 0x4d:  // btrfs: {u64 objectid, u64 root objectid, u32 gen, ...}
    case 0x4e:
    case 0x4f:
        return n >= 20 && u64_at(0) == ino ? u32_at(16) : 0;
    default:
        return 0;
    }
}

namespace {

std::string canonical(const std::string& path)
{
    const std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
    return real ? std::string(real.get()) : std::string();
}

}  // namespace

PathResolver::~PathResolver()
{
    if (dir_fd_ >= 0)
        ::close(dir_fd_);
}

// lstat, from the open parent directory when the previous path had the same
// one: one component looked up instead of a whole path walk.
int PathResolver::lstat_in_dir(const std::string& path, struct stat* st)
{
    const auto slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == path.size())
        return ::lstat(path.c_str(), st);
    const std::string dir = path.substr(0, slash);
    if (dir != dir_) {
        if (dir_fd_ >= 0)
            ::close(dir_fd_);
        dir_ = dir;
        dir_fd_ = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (dir_fd_ < 0)  // no such directory (or no access): the plain call says which
        return ::lstat(path.c_str(), st);
    return ::fstatat(dir_fd_, path.c_str() + slash + 1, st, AT_SYMLINK_NOFOLLOW);
}

const std::string& PathResolver::real_dir(const std::string& dir)
{
    auto it = real_dirs_.find(dir);
    if (it == real_dirs_.end())
        it = real_dirs_.emplace(dir, canonical(dir)).first;
    return it->second;
}

Resolved PathResolver::resolve(const std::string& path)
{
    Resolved r;
    r.resolved = path;

    struct stat lst {};
    if (lstat_in_dir(path, &lst) != 0) {
        r.err = errno;
        r.status = (r.err == ENOENT || r.err == ENOTDIR) ? Resolved::Status::missing : Resolved::Status::failed;
        return r;
    }
    struct stat st = lst;
    if (S_ISLNK(lst.st_mode)) {
        r.symlink = true;
        std::string buf(PATH_MAX, '\0');
        const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
        if (n > 0) {
            buf.resize(static_cast<std::size_t>(n));
            r.link_target = std::move(buf);
        }
        if (::stat(path.c_str(), &st) != 0) {
            r.err = errno;
            r.status = (r.err == ENOENT || r.err == ENOTDIR) ? Resolved::Status::missing : Resolved::Status::failed;
            return r;
        }
    }
    r.id = FileIdentity{kernel_dev_from_st_dev(static_cast<uint64_t>(st.st_dev)), static_cast<uint64_t>(st.st_ino)};
    r.mode = st.st_mode;
    r.status = Resolved::Status::ok;
    r.generation = inode_generation(path, static_cast<uint64_t>(st.st_ino));

    // A last component that is neither a symlink nor "." / "..": the
    // canonical path is its parent's plus its name.
    const auto slash = path.rfind('/');
    const std::string name = slash == std::string::npos ? std::string() : path.substr(slash + 1);
    std::string real;
    if (!r.symlink && slash != std::string::npos && slash > 0 && !name.empty() && name != "." && name != "..") {
        const std::string& dir = real_dir(path.substr(0, slash));
        if (!dir.empty())
            real = (dir == "/" ? "" : dir) + "/" + name;
    } else {
        real = canonical(path);
    }
    if (!real.empty())
        r.resolved = std::move(real);
    return r;
}

}  // namespace detail
}  // namespace bulwark::policy
