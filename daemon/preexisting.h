// preexisting.h — descriptors opened before the generation in force.
//
// A rule comes into force for opens made from then on; a descriptor opened
// earlier would keep reading or writing the file.  After every generation
// switch (start-up, adoption, reload) bulwarkd runs the task_file iterator
// of its BPF object (bpf/preexisting.bpf.h), which reports every such
// descriptor as a `preexisting` record, and takes each one an enforcing rule
// covers once with pidfd_getfd(2).  In LSM mode that receive marks the
// file's inode (bpf/lsm/lsm.bpf.c, file_receive): from then on every read,
// write and map of the inode is judged like an open.  docs/architecture.md,
// "Descriptors opened earlier", has the windows that remain.
#pragma once

#include <cstddef>
#include <string>

#include "daemon/loader.h"

namespace bulwark {

struct PreexistingOutcome {
    size_t to_mark = 0;      // descriptors an enforcing rule covers (the iterator's output)
    size_t marked = 0;       // taken: their inodes are checked at every access from now on
    size_t gone = 0;         // the holder exited or closed it before we took it
    size_t failed = 0;       // could not be taken (reason in `first_failure`)
    std::string first_failure;
    bool attached_checks = false;  // the per-access check was attached now (Enforcer::attach_access_checks)
};

// Runs the iterator for the generation in force and takes what it found.
Result<PreexistingOutcome> mark_preexisting(Enforcer& enforcer);

}  // namespace bulwark
