// files.cpp — policy files and directories from disk.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/limits.h"
#include "policy/parser_internal.h"
#include "policy/unique_fd.h"

namespace bulwark::policy {
namespace {

Diagnostic file_error(const std::string& path, const std::string& what, int err)
{
    return Diagnostic{Severity::error, Location{path, 0, 0}, what + ": " + std::strerror(err)};
}

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

// Reads at most max_file_bytes + 1 bytes of `fd` (named `path` in
// messages), so an oversized (or endless) input costs bounded memory and is
// still recognised as too large.
ParseResult parse_fd(int fd, const std::string& path, detail::NameRegistry& names)
{
    ParseResult result;
    std::string text;
    constexpr std::size_t cap = limits::max_file_bytes + 1;
    constexpr std::size_t chunk = 64 * 1024;
    while (text.size() < cap) {
        const std::size_t old = text.size();
        text.resize(std::min(cap, old + chunk));
        const ssize_t n = ::read(fd, text.data() + old, text.size() - old);
        if (n < 0) {
            if (errno == EINTR) {
                text.resize(old);
                continue;
            }
            result.diagnostics.push_back(file_error(path, "cannot read file", errno));
            return result;
        }
        text.resize(old + static_cast<std::size_t>(n));
        if (n == 0)
            break;
    }
    // parse_text refuses text above the limit with the right message.
    return detail::parse_text(text, path, names);
}

ParseResult parse_file(const std::string& path, detail::NameRegistry& names)
{
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        ParseResult result;
        result.diagnostics.push_back(file_error(path, "cannot open file", errno));
        return result;
    }
    return parse_fd(fd.get(), path, names);
}

void append(ParseResult& into, ParseResult&& from)
{
    for (auto& p : from.policies)
        into.policies.push_back(std::move(p));
    for (auto& d : from.diagnostics)
        into.diagnostics.push_back(std::move(d));
}

bool is_policy_file_name(const std::string& name)
{
    auto ends_with = [&](std::string_view suffix) {
        return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return name[0] != '.' && (ends_with(".yaml") || ends_with(".yml"));
}

void parse_directory(const std::string& dir, detail::NameRegistry& names, ParseResult& result, bool trusted_only)
{
    const std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
    if (!d) {
        result.diagnostics.push_back(file_error(dir, "cannot open directory", errno));
        return;
    }
    std::vector<std::string> files;
    errno = 0;
    while (const dirent* e = ::readdir(d.get())) {
        std::string name = e->d_name;
        if (is_policy_file_name(name))
            files.push_back(std::move(name));
        errno = 0;
    }
    const int read_errno = errno;
    if (read_errno != 0) {
        result.diagnostics.push_back(file_error(dir, "cannot read directory", read_errno));
        return;
    }
    std::sort(files.begin(), files.end());

    const std::string prefix = dir.back() == '/' ? dir : dir + "/";
    std::size_t parsed = 0;
    for (const auto& name : files) {
        const std::string path = prefix + name;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            result.diagnostics.push_back(file_error(path, "cannot access file", errno));
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            result.diagnostics.push_back(
                Diagnostic{Severity::warning, Location{path, 0, 0}, "not a regular file; skipped"});
            continue;
        }
        if (trusted_only) {
            auto untrusted = check_trusted(path);
            if (!untrusted.empty()) {
                for (auto& diag : untrusted) result.diagnostics.push_back(std::move(diag));
                continue;
            }
        }
        ++parsed;
        append(result, parse_file(path, names));
    }
    if (parsed == 0)
        result.diagnostics.push_back(
            Diagnostic{Severity::warning, Location{dir, 0, 0}, "directory holds no *.yaml or *.yml files"});
}

}  // namespace

ParseResult parse_policy_file(const std::string& path)
{
    detail::NameRegistry names;
    return parse_file(path, names);
}

ParseResult parse_policy_paths(const std::vector<std::string>& paths, bool trusted_only)
{
    ParseResult result;
    detail::NameRegistry names;
    for (const auto& path : paths) {
        if (path == "-" && !trusted_only) {  // standard input
            append(result, parse_fd(STDIN_FILENO, "<stdin>", names));
            continue;
        }
        struct stat st {};
        if (path.empty() || ::stat(path.c_str(), &st) != 0) {
            result.diagnostics.push_back(file_error(path, "cannot access", path.empty() ? ENOENT : errno));
            continue;
        }
        if (trusted_only) {
            auto untrusted = check_trusted(path);
            if (!untrusted.empty()) {
                for (auto& diag : untrusted) result.diagnostics.push_back(std::move(diag));
                continue;
            }
        }
        if (S_ISDIR(st.st_mode))
            parse_directory(path, names, result, trusted_only);
        else
            append(result, parse_file(path, names));
    }
    return result;
}

}  // namespace bulwark::policy
