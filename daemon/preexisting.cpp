#include "daemon/preexisting.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "policy/unique_fd.h"

namespace bulwark {
namespace {

// Takes (and at once closes) descriptor `fd` of process `tgid`; 0 or errno.
int take_descriptor(uint32_t tgid, int fd) {
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_t(tgid), 0));
    if (pidfd < 0) return errno;
    UniqueFd holder(pidfd);
    UniqueFd copy(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0)));
    return copy.get() < 0 ? errno : 0;
}

}  // namespace

Result<PreexistingOutcome> mark_preexisting(Enforcer& enforcer) {
    auto found = enforcer.scan_preexisting();
    if (!found) return found.error();
    PreexistingOutcome out;
    out.to_mark = found->size();
    if (found->empty()) return out;
    // Before the first mark: from then on every access is checked.
    auto attached = enforcer.attach_access_checks();
    if (!attached) return attached.error();
    out.attached_checks = *attached;
    for (const bw_preexisting& p : *found) {
        const int err = take_descriptor(p.tgid, p.fd);
        if (err == 0) {
            ++out.marked;
        } else if (err == ESRCH || err == EBADF) {
            ++out.gone;  // nothing left to mark
        } else {
            if (out.failed++ == 0)
                out.first_failure = "process " + std::to_string(p.tgid) + " descriptor " + std::to_string(p.fd) +
                                    ": " + std::strerror(err);
        }
    }
    return out;
}

}  // namespace bulwark
