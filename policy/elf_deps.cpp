// elf_deps.cpp — ELF program headers and the dynamic section, read with
// <elf.h> (64-bit little-endian objects; others are left alone).
#include "policy/elf_deps.h"

#include <elf.h>
#include <fcntl.h>
#include <glob.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <optional>
#include <set>

#include "policy/unique_fd.h"

namespace bulwark::policy::detail {
namespace {

struct ElfInfo {
    std::string interpreter;
    std::vector<std::string> needed;
    std::vector<std::string> search;  // DT_RUNPATH, else DT_RPATH, split at ':'
};

bool read_at(int fd, uint64_t off, void* buf, size_t len)
{
    return ::pread(fd, buf, len, static_cast<off_t>(off)) == static_cast<ssize_t>(len);
}

std::string read_string(int fd, uint64_t off, size_t max = 4096)
{
    std::string s(max, '\0');
    const ssize_t n = ::pread(fd, s.data(), max, static_cast<off_t>(off));
    if (n <= 0) return "";
    s.resize(strnlen(s.data(), size_t(n)));
    return s;
}

std::vector<std::string> split(const std::string& s, char sep)
{
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        const size_t end = s.find(sep, start);
        out.push_back(s.substr(start, end - start));
        if (end == std::string::npos) return out;
        start = end + 1;
    }
}

std::optional<ElfInfo> read_elf(const std::string& path)
{
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return std::nullopt;
    Elf64_Ehdr eh{};
    if (!read_at(fd.get(), 0, &eh, sizeof(eh)) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256)
        return std::nullopt;
    std::vector<Elf64_Phdr> ph(eh.e_phnum);
    if (!read_at(fd.get(), eh.e_phoff, ph.data(), ph.size() * sizeof(Elf64_Phdr))) return std::nullopt;

    ElfInfo info;
    const Elf64_Phdr* dynamic = nullptr;
    for (const auto& p : ph) {
        if (p.p_type == PT_INTERP) info.interpreter = read_string(fd.get(), p.p_offset, std::min<size_t>(p.p_filesz, PATH_MAX));
        if (p.p_type == PT_DYNAMIC) dynamic = &p;
    }
    if (!dynamic || dynamic->p_filesz > (1u << 20)) return info;  // static
    std::vector<Elf64_Dyn> dyn(dynamic->p_filesz / sizeof(Elf64_Dyn));
    if (!read_at(fd.get(), dynamic->p_offset, dyn.data(), dyn.size() * sizeof(Elf64_Dyn))) return info;
    uint64_t strtab = 0;
    std::vector<uint64_t> needed;
    std::optional<uint64_t> runpath, rpath;
    for (const auto& d : dyn) {
        if (d.d_tag == DT_NULL) break;
        if (d.d_tag == DT_STRTAB) strtab = d.d_un.d_ptr;
        if (d.d_tag == DT_NEEDED) needed.push_back(d.d_un.d_val);
        if (d.d_tag == DT_RUNPATH) runpath = d.d_un.d_val;
        if (d.d_tag == DT_RPATH) rpath = d.d_un.d_val;
    }
    // DT_STRTAB is an address: the file offset is in the PT_LOAD holding it.
    std::optional<uint64_t> strtab_off;
    for (const auto& p : ph)
        if (p.p_type == PT_LOAD && strtab >= p.p_vaddr && strtab < p.p_vaddr + p.p_filesz)
            strtab_off = strtab - p.p_vaddr + p.p_offset;
    if (!strtab_off) return info;
    for (uint64_t n : needed) {
        std::string name = read_string(fd.get(), *strtab_off + n, NAME_MAX + 1);
        if (!name.empty()) info.needed.push_back(std::move(name));
    }
    if (auto p = runpath ? runpath : rpath) info.search = split(read_string(fd.get(), *strtab_off + *p), ':');
    return info;
}

std::string canonical(const std::string& path)
{
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

std::string dirname_of(const std::string& path) { return path.substr(0, path.find_last_of('/')); }

// ld.so's search after the object's own paths: ld.so.conf.d, then the
// system directories of x86-64 Debian.
const std::vector<std::string>& system_dirs()
{
    static const std::vector<std::string> dirs = [] {
        std::vector<std::string> out;
        glob_t g{};
        if (::glob("/etc/ld.so.conf.d/*.conf", 0, nullptr, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; ++i) {
                std::ifstream in(g.gl_pathv[i]);
                for (std::string line; std::getline(in, line);)
                    if (!line.empty() && line[0] == '/') out.push_back(line);
            }
        }
        ::globfree(&g);
        for (const char* d : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib",
                              "/usr/lib"})
            out.push_back(d);
        return out;
    }();
    return dirs;
}

std::string find_library(const std::string& name, const std::string& origin, const std::vector<std::string>& search)
{
    if (name.find('/') != std::string::npos) return canonical(name);
    std::vector<std::string> dirs;
    for (std::string d : search) {
        for (const char* tok : {"$ORIGIN", "${ORIGIN}"}) {
            const size_t at = d.find(tok);
            if (at != std::string::npos) d.replace(at, std::strlen(tok), origin);
        }
        if (!d.empty()) dirs.push_back(d);
    }
    dirs.insert(dirs.end(), system_dirs().begin(), system_dirs().end());
    for (const auto& d : dirs) {
        const std::string candidate = d + "/" + name;
        if (::access(candidate.c_str(), F_OK) == 0) return canonical(candidate);
    }
    return "";
}

// A `#!` line's interpreter, or "".
std::string script_interpreter(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    char head[256] = {};
    in.read(head, sizeof(head) - 1);
    if (in.gcount() < 3 || head[0] != '#' || head[1] != '!') return "";
    std::string line(head + 2, strnlen(head + 2, sizeof(head) - 3));
    line = line.substr(0, line.find('\n'));
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) return "";
    line = line.substr(start);
    return line.substr(0, line.find_first_of(" \t"));
}

}  // namespace

std::vector<Dependency> program_dependencies(const std::string& path, size_t limit)
{
    std::vector<Dependency> out;
    if (const std::string interp = script_interpreter(path); !interp.empty()) {
        out.push_back(Dependency{Dependency::Kind::script_interpreter, interp, canonical(interp), path});
        return out;  // the interpreter is a program of its own: listed, it is checked as one
    }
    std::set<std::string> seen{path};
    std::deque<std::string> todo{path};
    while (!todo.empty() && seen.size() < limit) {
        const std::string object = todo.front();
        todo.pop_front();
        const auto info = read_elf(object);
        if (!info) continue;
        if (!info->interpreter.empty() && object == path) {
            const std::string where = canonical(info->interpreter);
            out.push_back(Dependency{Dependency::Kind::interpreter, info->interpreter, where, object});
            if (!where.empty()) seen.insert(where);
        }
        for (const auto& name : info->needed) {
            const std::string where = find_library(name, dirname_of(object), info->search);
            if (!seen.insert(where.empty() ? "?" + name : where).second) continue;
            out.push_back(Dependency{Dependency::Kind::library, name, where, object});
            if (!where.empty()) todo.push_back(where);
        }
    }
    return out;
}

}  // namespace bulwark::policy::detail
