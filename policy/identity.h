// identity.h — resolving a path to the file identity the kernel sees
// (private to the policy library; the public encoders are in policy.h).
#pragma once

#include <string>
#include <unordered_map>

#include <sys/types.h>

#include "policy/policy.h"

struct stat;

namespace bulwark::policy::detail {

struct Resolved {
    enum class Status {
        ok,       // id, mode, resolved are set
        missing,  // the path (or a symlink's target) does not exist
        failed,   // another error (errno in err), e.g. EACCES, ELOOP
    };
    Status status = Status::failed;
    FileIdentity id;
    mode_t mode = 0;          // st_mode of the file (after following symlinks)
    bool symlink = false;     // the path's last component is a symlink
    std::string link_target;  // readlink() of that symlink
    std::string resolved;     // canonical path (realpath), the written path if that fails
    // The inode's generation (i_generation), told apart from a later file
    // that gets the same inode number; 0 when unknown (inode_generation()).
    uint32_t generation = 0;
    int err = 0;
};

// The generation number of the inode `ino` at `path` (a symlink followed),
// read from its file handle (name_to_handle_at: no open, no privilege) for
// the handle layouts of ext2/3/4, xfs, btrfs and tmpfs, whose handles hold
// the inode number and its generation; 0 for every other layout or error.
uint32_t inode_generation(const std::string& path, uint64_t ino);

// The device of the superblock of the filesystem `path` is on, in the
// kernel's encoding: /proc/self/mountinfo's device of the mount holding it
// (statx's mount id).  On btrfs that is the filesystem's device, where
// stat() gives each subvolume's.  0 when it cannot be told.
uint64_t superblock_dev(const std::string& path);

// Resolves rule paths to identities: lstat() (stat() only for a symlink,
// to follow it), plus the canonical path.  Remembers the canonical path of
// each parent directory, so a directory of 50,000 rule files costs one
// realpath(), not 50,000 (each a readlink() per component).  Use one per
// compile: symlinks may change between compiles.  Never throws.
class PathResolver {
public:
    PathResolver() = default;
    ~PathResolver();
    PathResolver(const PathResolver&) = delete;
    PathResolver& operator=(const PathResolver&) = delete;
    Resolved resolve(const std::string& path);

private:
    int lstat_in_dir(const std::string& path, struct stat* st);
    const std::string& real_dir(const std::string& dir);

    std::unordered_map<std::string, std::string> real_dirs_;  // parent as written -> canonical ("" = failed)
    // The parent directory of the previous path, open (O_PATH): the next
    // path in the same directory is looked up from it, one component
    // instead of a whole path walk.
    std::string dir_;
    int dir_fd_ = -1;
};

}  // namespace bulwark::policy::detail
