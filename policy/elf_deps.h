// elf_deps.h — what a program maps executable when it starts: its ELF
// interpreter (the dynamic loader), the shared libraries it needs (DT_NEEDED,
// transitively, searched like ld.so does: DT_RUNPATH/DT_RPATH with $ORIGIN,
// /etc/ld.so.conf.d, the system directories) and, for a `#!` script, its
// interpreter.  An exec allowlist must allow all of them in LSM mode, where
// mapping a file executable counts as exec (docs/policy.md).  Private to the
// policy library: the compiler turns what is missing into warnings.
#pragma once

#include <string>
#include <vector>

namespace bulwark::policy::detail {

struct Dependency {
    enum class Kind { interpreter, library, script_interpreter };
    Kind kind = Kind::library;
    std::string name;      // as the file names it (DT_NEEDED, PT_INTERP, #! line)
    std::string path;      // where it was found, canonical; "" when not found
    std::string needed_by; // canonical path of the object that names it
};

// Every dependency of the program at `path` (canonical), at most `limit`
// objects deep in total.  Not an ELF file or a script: empty.
std::vector<Dependency> program_dependencies(const std::string& path, size_t limit = 512);

}  // namespace bulwark::policy::detail
