// StrictModes for what bulwarkd reads: policy.h, check_trusted and
// parse_policy_paths(..., trusted_only).  Ownership by another user needs
// root to set up: the host tier covers it (tests/host/tracepoint_test.cpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "policy/policy.h"
#include "tests/unit/test_util.h"

using namespace bulwark;
using bulwark::test::TempDir;

namespace {

const char* kPolicy = "apiVersion: bulwark/v1\nkind: Policy\nmetadata:\n  name: NAME\nspec:\n"
                      "  protectedFiles:\n    - path: /nonexistent/x\n";

std::string policy_named(const std::string& name) {
    std::string s = kPolicy;
    return s.replace(s.find("NAME"), 4, name);
}

std::string messages(const std::vector<policy::Diagnostic>& diags) {
    std::string out;
    for (const auto& d : diags) out += d.to_string() + "\n";
    return out;
}

}  // namespace

TEST_CASE("a file only its owner can write is trusted; group or other write is refused") {
    TempDir t;
    const std::string f = t.write("p.yaml", policy_named("a"));
    chmod(f.c_str(), 0644);
    CHECK(policy::check_trusted(f).empty());
    CHECK(policy::check_trusted(t.path()).empty());  // mkdtemp: 0700 below sticky /tmp
    for (mode_t m : {0664, 0646, 0666}) {
        chmod(f.c_str(), m);
        const auto diags = policy::check_trusted(f);
        INFO(messages(diags));
        REQUIRE(diags.size() == 1);
        CHECK(diags[0].severity == policy::Severity::error);
        CHECK(diags[0].loc.file == f);
        CHECK(diags[0].message.find("is writable by group or others (mode 0" + std::to_string(m / 64) +
                                    std::to_string(m / 8 % 8) + std::to_string(m % 8)) != std::string::npos);
    }
}

TEST_CASE("a directory above that others may write without the sticky bit is refused") {
    TempDir t;
    const std::string dir = t.mkdir("open");
    const std::string f = t.write("open/p.yaml", policy_named("a"));
    chmod(f.c_str(), 0644);
    chmod(dir.c_str(), 0777);
    auto diags = policy::check_trusted(f);
    INFO(messages(diags));
    REQUIRE(diags.size() == 1);
    CHECK(diags[0].message.find(dir + ", a directory above it, is writable by group or others without the sticky "
                                      "bit (mode 0777)") != std::string::npos);
    // The directory itself as the policy directory: refused too.
    CHECK(policy::check_trusted(dir).size() == 1);
    // Sticky (like /tmp): others cannot replace what they do not own.
    chmod(dir.c_str(), 01777);
    CHECK(policy::check_trusted(f).empty());
}

TEST_CASE("a symlink is judged by its target") {
    TempDir t;
    const std::string open_dir = t.mkdir("open");
    const std::string target = t.write("open/real.yaml", policy_named("a"));
    chmod(target.c_str(), 0644);
    chmod(open_dir.c_str(), 0777);
    t.mkdir("policies");
    const std::string link = t.symlink(target, "policies/p.yaml");
    const auto diags = policy::check_trusted(link);
    INFO(messages(diags));
    REQUIRE(diags.size() == 1);
    CHECK(diags[0].loc.file == link);
    CHECK(diags[0].message.find("a directory above its target " + target) != std::string::npos);
    chmod(open_dir.c_str(), 0755);
    CHECK(policy::check_trusted(link).empty());
}

TEST_CASE("trusted_only: an untrusted policy file is an error and is not read; the others are") {
    TempDir t;
    const std::string dir = t.mkdir("policies");
    const std::string good = t.write("policies/a.yaml", policy_named("good"));
    const std::string bad = t.write("policies/b.yaml", policy_named("bad"));
    chmod(good.c_str(), 0644);
    chmod(bad.c_str(), 0666);

    const auto lax = policy::parse_policy_paths({dir});
    CHECK(lax.ok());
    CHECK(lax.policies.size() == 2);

    const auto strict = policy::parse_policy_paths({dir}, true);
    INFO(messages(strict.diagnostics));
    CHECK_FALSE(strict.ok());
    REQUIRE(strict.policies.size() == 1);
    CHECK(strict.policies[0].name == "good");
    REQUIRE(strict.diagnostics.size() == 1);
    CHECK(strict.diagnostics[0].to_string().rfind(bad + ": error: refused: it is writable by group or others", 0) ==
          0);

    // An untrusted directory: nothing in it is read.
    chmod(bad.c_str(), 0644);
    chmod(dir.c_str(), 0777);
    const auto open_dir = policy::parse_policy_paths({dir}, true);
    CHECK_FALSE(open_dir.ok());
    CHECK(open_dir.policies.empty());
}
