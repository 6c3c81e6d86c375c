// test_util.h — helpers for unit tests: real temporary files and directories
// (no mocks), and diagnostic formatting.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "policy/policy.h"

namespace bulwark::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
public:
    TempDir()
    {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/bulwark-test-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        // Canonical, so paths compare equal to realpath() results.
        path_ = std::filesystem::canonical(tmpl).string();
    }
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

    // Writes `content` to `rel` (parent directories created); returns the path.
    std::string write(const std::string& rel, const std::string& content) const
    {
        const std::string p = *this / rel;
        std::filesystem::create_directories(std::filesystem::path(p).parent_path());
        std::ofstream out(p, std::ios::binary);
        out << content;
        if (!out)
            throw std::runtime_error("cannot write " + p);
        return p;
    }
    std::string mkdir(const std::string& rel) const
    {
        const std::string p = *this / rel;
        std::filesystem::create_directories(p);
        return p;
    }
    std::string symlink(const std::string& target, const std::string& rel) const
    {
        const std::string p = *this / rel;
        std::filesystem::create_symlink(target, p);
        return p;
    }

private:
    std::string path_;
};

// Every occurrence of "{dir}" in `text` replaced by `dir`.
inline std::string with_dir(std::string text, const std::string& dir)
{
    const std::string key = "{dir}";
    for (std::size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + dir.size()))
        text.replace(pos, key.size(), dir);
    return text;
}

// Diagnostics as "FILE:LINE:COL: error: MESSAGE" lines.
inline std::vector<std::string> lines(const std::vector<policy::Diagnostic>& diags)
{
    std::vector<std::string> out;
    for (const auto& d : diags)
        out.push_back(d.to_string());
    return out;
}

inline std::vector<std::string> lines(const std::vector<policy::Diagnostic>& diags, policy::Severity sev)
{
    std::vector<std::string> out;
    for (const auto& d : diags)
        if (d.severity == sev)
            out.push_back(d.to_string());
    return out;
}

// The identity stat() gives for `path`, in the kernel's dev encoding.
inline policy::FileIdentity identity_of(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw std::runtime_error("stat failed: " + path);
    return policy::FileIdentity{policy::kernel_dev_from_st_dev(static_cast<uint64_t>(st.st_dev)),
                                static_cast<uint64_t>(st.st_ino)};
}

}  // namespace bulwark::test
