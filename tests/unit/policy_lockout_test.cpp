// Unit tests for the lockout guard (policy/lockout.cpp): a host-wide,
// enforcing policy that would make the host unusable is an error that says
// why and how to fix it, unless the policy says allowLockout: true.  The
// programs the host needs are stand-ins in a temporary directory; the
// system directories are the real ones (only compiled, never loaded).
#include <algorithm>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "policy/policy.h"
#include "test_util.h"

using namespace bulwark::policy;
using bulwark::test::lines;
using bulwark::test::TempDir;
using bulwark::test::with_dir;

namespace {

std::string doc(const std::string& body)
{
    return "apiVersion: bulwark/v1\nkind: Policy\nmetadata:\n  name: p\nspec:\n" + body;
}

CompiledPolicy compile_with(const std::string& yaml, const std::vector<EssentialProgram>& essentials)
{
    const ParseResult parsed = parse_policy_text(yaml, "l.yaml");
    INFO(Catch::Detail::stringify(lines(parsed.diagnostics)));
    REQUIRE(parsed.ok());
    CompileOptions opts;
    opts.essential_programs = essentials;
    return compile(parsed.policies, opts);
}

struct Host {
    TempDir dir;
    std::string init, loader, journald, dpkg;
    std::vector<EssentialProgram> essentials;
    Host()
    {
        dir.mkdir("sbin");
        dir.mkdir("lib/systemd");
        init = dir.write("sbin/init", "i");
        loader = dir.write("lib/ld.so", "l");
        journald = dir.write("lib/systemd/systemd-journald", "j");
        dpkg = dir.write("sbin/dpkg", "d");
        for (const auto& p : {init, loader, journald, dpkg})
            ::chmod(p.c_str(), 0755);
        essentials = {{"PID 1's binary", init},
                      {"the dynamic loader", loader},
                      {"systemd's own programs", journald},
                      {"the package manager", dpkg}};
    }
};

}  // namespace

TEST_CASE("a host-wide enforcing allowlist without what the host needs is refused, saying what and how",
          "[policy][lockout]")
{
    Host h;
    const CompiledPolicy cp =
        compile_with(with_dir(doc("  execAllowlist:\n    - {dir}/sbin/init\n"), h.dir.path()), h.essentials);
    CHECK_FALSE(cp.ok());
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{
              "l.yaml:7:7: error: host-wide enforcing execAllowlist of policy \"p\" would refuse what this host "
              "needs to run: the dynamic loader (" + h.loader + "); systemd's own programs (" + h.journald +
              "); the package manager (" + h.dpkg + "); allow them (their directories, e.g. `/usr/lib/systemd/`, "
              "or each file) in the list; scope the policy to the units it is for (spec.scope), try it with "
              "`mode: audit` first, or, if you mean it, set `allowLockout: true` in its spec"});
}

TEST_CASE("an allowlist that allows what the host needs, by file or by directory, passes", "[policy][lockout]")
{
    Host h;
    const CompiledPolicy cp = compile_with(
        with_dir(doc("  execAllowlist:\n    - {dir}/sbin/\n    - {dir}/lib/\n"), h.dir.path()), h.essentials);
    CHECK(lines(cp.diagnostics).empty());
}

TEST_CASE("the guard leaves scoped and audit-mode allowlists alone", "[policy][lockout]")
{
    Host h;
    const std::string scoped = "  scope:\n    units: [app.service]\n  execAllowlist:\n    - {dir}/sbin/init\n";
    for (const auto& line : lines(compile_with(with_dir(doc(scoped), h.dir.path()), h.essentials).diagnostics))
        CHECK(line.find("would refuse") == std::string::npos);
    const CompiledPolicy audit = compile_with(
        with_dir(doc("  mode: audit\n  execAllowlist:\n    - {dir}/sbin/init\n"), h.dir.path()), h.essentials);
    CHECK(lines(audit.diagnostics).empty());
}

TEST_CASE("allowLockout: true turns the refusal into a warning", "[policy][lockout]")
{
    Host h;
    const CompiledPolicy cp = compile_with(
        with_dir(doc("  allowLockout: true\n  execAllowlist:\n    - {dir}/sbin/\n    - {dir}/lib/ld.so\n"),
                 h.dir.path()),
        h.essentials);
    CHECK(cp.ok());
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{
              "l.yaml:8:7: warning: host-wide enforcing execAllowlist of policy \"p\" would refuse what this host "
              "needs to run: systemd's own programs (" + h.journald + "); allow them (their directories, e.g. "
              "`/usr/lib/systemd/`, or each file) in the list (allowed: the policy says allowLockout: true)"});
}

TEST_CASE("file rules on system directories and on the account files are refused", "[policy][lockout]")
{
    const CompiledPolicy cp = compile_with(doc(R"(  protectedFiles:
    - path: /usr
      recursive: true
    - path: /etc/shadow
      deny: write
    - path: /etc/passwd
  killOnOpen:
    - path: /
      recursive: true
)"),
                                           {});
    const auto got = lines(cp.diagnostics);
    const std::string fix = "; scope the policy to the units it is for (spec.scope), try it with `mode: audit` "
                            "first, or, if you mean it, set `allowLockout: true` in its spec";
    CHECK(std::count(got.begin(), got.end(),
                     "l.yaml:7:13: error: protectedFiles(all) on \"/usr\" (host-wide, enforcing) would make the "
                     "host unusable: the programs and libraries of the host are below it" + fix) == 1);
    CHECK(std::count(got.begin(), got.end(),
                     "l.yaml:9:13: error: protectedFiles(write) on \"/etc/shadow\" (host-wide, enforcing) would "
                     "break the host's accounts: passwd, chpasswd and useradd rewrite it, and logins read it" +
                         fix) == 1);
    CHECK(std::count(got.begin(), got.end(),
                     "l.yaml:11:13: error: protectedFiles(all) on \"/etc/passwd\" (host-wide, enforcing) would "
                     "break the host's accounts: passwd, chsh, useradd and dpkg's maintainer scripts rewrite it" +
                         fix) == 1);
    CHECK(std::count(got.begin(), got.end(),
                     "l.yaml:13:13: error: killOnOpen on \"/\" (host-wide, enforcing) would make the host "
                     "unusable: every file of the host is below it" + fix) == 1);
    // The same rules, watched only: fine.
    const CompiledPolicy audit = compile_with(doc("  mode: audit\n  protectedFiles:\n    - path: /etc/shadow\n"), {});
    CHECK(audit.ok());
}

TEST_CASE("the host's essential programs are found where Debian installs them", "[policy][lockout]")
{
    const auto essentials = essential_programs();
    // Whatever runs this test is one of them (bulwarkctl or bulwarkd when they check).
    bool self = false;
    for (const auto& e : essentials) {
        CHECK(e.path.front() == '/');
        self = self || (e.what == "bulwark" && e.path.find("unit_tests") != std::string::npos);
    }
    CHECK(self);
    struct stat st {};
    if (::stat("/usr/bin/dpkg", &st) == 0) {
        bool dpkg = false;
        for (const auto& e : essentials)
            dpkg = dpkg || (e.what == "the package manager" && e.path == "/usr/bin/dpkg");
        CHECK(dpkg);
    }
}
