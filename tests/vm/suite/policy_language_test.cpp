// The v1 policy language end to end in LSM mode: directory rules, every way
// of changing a write-protected file, scopes, audit mode, precedence.
// Runs as root inside the test VM next to the real bulwarkd.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include "test_env.h"

namespace fs = std::filesystem;
using testenv::Outcome;
using json = nlohmann::json;

namespace {

const std::string kDir = "/tmp/pl";
const std::string kAudit = kDir + "/audit.jsonl";
const std::string kScope = "/sys/fs/cgroup/plscope";
const std::string kExecScope = "/sys/fs/cgroup/plexec";
using testenv::kToolExit;
const std::string kDocBytes = "the handbook, unchangeable\n";

std::string g_self;
testenv::Daemon g_daemon;

std::string p(const std::string& name) { return kDir + "/" + name; }

void setup() {
    for (const char* d : {"vault", "vault/sub", "docs", "bin", "etc", "paths", "paths-empty", "userdir", "policies"})
        fs::create_directories(p(d));
    chmod(p("userdir").c_str(), 0777);  // a directory a non-root user may rename in
    testenv::write_file(p("vault/a.txt"), "vault a\n");
    testenv::write_file(p("vault/sub/b.txt"), "vault b\n");
    testenv::write_file(p("docs/readme.txt"), kDocBytes);
    testenv::write_file(p("single.txt"), "single\n");
    testenv::write_file(p("canary.txt"), "canary\n");
    testenv::write_file(p("scoped.txt"), "scoped\n");
    testenv::write_file(p("audited.txt"), "audited\n");
    testenv::write_file(p("both.txt"), "both\n");
    testenv::write_file(p("outside.txt"), "moved in later\n");
    testenv::write_file(p("replacement.txt"), "replacement\n");
    testenv::write_file(p("paths/neighbour.txt"), "next door\n");
    testenv::write_file(p("paths/shadow"), "root:old-hash\n");
    // paths/later.txt and paths/later-canary do not exist when the policy is loaded.
    for (const char* t : {"bin/tool", "other-tool", "exact-tool", "exact-tool-2", "upgraded-tool", "swapped-tool",
                          "held-tool", "userdir/user-tool"}) {
        fs::copy_file(g_self, p(t), fs::copy_options::overwrite_existing);
        chmod(p(t).c_str(), 0755);
    }
    mkdir(kScope.c_str(), 0755);
    mkdir(kExecScope.c_str(), 0755);

    testenv::write_file(p("policies/10-dirs.yaml"), R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: pl-dirs
spec:
  protectedFiles:
    - path: /tmp/pl/vault
      recursive: true
      deny: all
    - path: /tmp/pl/docs/
      recursive: true
      deny: write
    - path: /tmp/pl/single.txt
      deny: write
    - path: /tmp/pl/both.txt
      deny: all
  killOnOpen:
    - path: /tmp/pl/canary.txt
)");
    testenv::write_file(p("policies/20-scoped.yaml"), R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: pl-scoped
spec:
  scope:
    cgroups: [/sys/fs/cgroup/plscope]
  protectedFiles:
    - path: /tmp/pl/scoped.txt
---
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: pl-audit
spec:
  mode: audit
  protectedFiles:
    - path: /tmp/pl/audited.txt
    - path: /tmp/pl/both.txt
---
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: pl-exec
spec:
  scope:
    cgroups: [/sys/fs/cgroup/plexec]
  execAllowlist:
    - /tmp/pl/bin/
    - /tmp/pl/exact-tool
    - /tmp/pl/exact-tool-2
    - /tmp/pl/upgraded-tool
    - /tmp/pl/swapped-tool
    - /tmp/pl/held-tool
    - /tmp/pl/userdir/user-tool
    # the programs' loader and libraries: they are mapped executable
    - /usr/lib/x86_64-linux-gnu/
    - /usr/lib64/
)");
    testenv::write_file(p("policies/30-paths.yaml"), R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: pl-paths
spec:
  protectedFiles:
    - path: /tmp/pl/paths/later.txt
    - path: /tmp/pl/paths/renamed-in.txt
    - path: /tmp/pl/paths-empty/later.txt
  killOnOpen:
    - path: /tmp/pl/paths/later-canary
---
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: pl-paths-audit
spec:
  mode: audit
  protectedFiles:
    - path: /tmp/pl/paths/shadow
)");
    // The trusted installer of this suite: a copy of busybox (its mv and cp).
    fs::create_directories(p("inst"));
    fs::copy_file("/bin/busybox", p("inst/busybox"), fs::copy_options::overwrite_existing);
    chmod(p("inst/busybox").c_str(), 0755);
    testenv::write_file(p("bulwark.yaml"), "policyDir: /tmp/pl/policies\nauditLog: /tmp/pl/audit.jsonl\nmode: lsm\n"
                                           "trustedInstallers: [/tmp/pl/inst/busybox]\n");
}

// Runs fn in a child and returns the errno it reports (0: allowed).
int child_errno(const std::function<int()>& fn) {
    Outcome o = testenv::run_child([&](int) { return fn(); });
    REQUIRE(o.exited);
    return o.exit_code;
}

int rc_errno(int rc) { return rc == 0 ? 0 : errno; }

std::vector<json> records_of(pid_t pid) {
    return testenv::wait_for_audit(kAudit, [pid](const json& r) { return r.value("pid", -1) == pid; });
}

// Runs fn in a child, expects EPERM, and returns the child's audit record.
json denied(const std::function<int()>& fn) {
    Outcome o = testenv::run_child([&](int) { return fn(); });
    REQUIRE(o.exited);
    CHECK(o.exit_code == EPERM);
    auto recs = records_of(o.pid);
    REQUIRE(recs.size() == 1);
    return recs[0];
}

}  // namespace

TEST_CASE("a recursive deny-all directory covers old, new and moved-in files", "[dirs]") {
    for (const std::string& f : {p("vault/a.txt"), p("vault/sub/b.txt")}) {
        INFO(f);
        json r = denied([&] { return testenv::open_errno(f, O_RDONLY); });
        CHECK(r["path"] == f);
        CHECK(r["via_directory"] == true);
        CHECK(r["rule_path"] == "/tmp/pl/vault");
        CHECK(r["policy"] == "pl-dirs");
    }
    // Created after the policy was loaded (mknod creates without opening).
    REQUIRE(mknod(p("vault/new.txt").c_str(), S_IFREG | 0644, 0) == 0);
    CHECK(child_errno([] { return testenv::open_errno(p("vault/new.txt"), O_RDONLY); }) == EPERM);
    // Moved in from outside: allowed, and from then on protected.
    CHECK(child_errno([] { return rc_errno(rename(p("outside.txt").c_str(), p("vault/moved.txt").c_str())); }) == 0);
    CHECK(child_errno([] { return testenv::open_errno(p("vault/moved.txt"), O_RDONLY); }) == EPERM);
    // Moving a protected file out is refused.
    json r = denied([] { return rc_errno(rename(p("vault/a.txt").c_str(), p("stolen.txt").c_str())); });
    CHECK(r["kind"] == "file_change");
    CHECK(r["op"] == "rename");
    CHECK(r["name"] == "a.txt");
    // The directory itself cannot be listed.
    CHECK(child_errno([] { return testenv::open_errno(p("vault"), O_RDONLY | O_DIRECTORY); }) == EPERM);
}

TEST_CASE("a write-protected directory refuses every way of changing its files", "[write]") {
    const std::string f = p("docs/readme.txt");
    // Reading stays allowed.
    CHECK(child_errno([&] { return testenv::open_errno(f, O_RDONLY); }) == 0);

    struct Way {
        const char* name;
        std::function<int()> fn;
        const char* op;  // expected record op, or nullptr for an open
    };
    const std::vector<Way> ways = {
        {"write-open", [&] { return testenv::open_errno(f, O_WRONLY); }, nullptr},
        {"append-open", [&] { return testenv::open_errno(f, O_WRONLY | O_APPEND); }, nullptr},
        {"O_TRUNC", [&] { return testenv::open_errno(f, O_RDONLY | O_TRUNC); }, nullptr},
        {"truncate", [&] { return rc_errno(truncate(f.c_str(), 0)); }, "truncate"},
        {"unlink", [&] { return rc_errno(unlink(f.c_str())); }, "unlink"},
        {"rename away", [&] { return rc_errno(rename(f.c_str(), p("gone.txt").c_str())); }, "rename"},
        {"rename over", [&] { return rc_errno(rename(p("replacement.txt").c_str(), f.c_str())); }, "rename-over"},
        {"link", [&] { return rc_errno(link(f.c_str(), p("docs-link.txt").c_str())); }, "link"},
        {"chmod", [&] { return rc_errno(chmod(f.c_str(), 0666)); }, "chmod"},
        {"chown", [&] { return rc_errno(chown(f.c_str(), 1000, 1000)); }, "chown"},
        {"setxattr", [&] { return rc_errno(setxattr(f.c_str(), "trusted.bw", "x", 1, 0)); }, "setxattr"},
        {"removexattr", [&] { return rc_errno(removexattr(f.c_str(), "trusted.bw")); }, "removexattr"},
    };
    for (const auto& w : ways) {
        INFO(w.name);
        json r = denied(w.fn);
        if (w.op) {
            CHECK(r["kind"] == "file_change");
            CHECK(r["op"] == w.op);
        } else {
            CHECK(r["kind"] == "file_open");
            CHECK(r["write"] == true);
        }
        CHECK(r["rule"] == "protectedFiles(write)");
        CHECK(r["action"] == "denied");
    }
    struct stat st {};
    REQUIRE(stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    CHECK(st.st_uid == 0);
    CHECK(testenv::read_file(f) == kDocBytes);
    CHECK(!fs::exists(p("gone.txt")));
    CHECK(testenv::read_file(p("replacement.txt")) == "replacement\n");
}

TEST_CASE("a write-protected file and a kill-on-open file cannot be removed or replaced", "[write]") {
    CHECK(child_errno([] { return rc_errno(unlink(p("single.txt").c_str())); }) == EPERM);
    CHECK(child_errno([] { return rc_errno(rename(p("single.txt").c_str(), p("s2.txt").c_str())); }) == EPERM);
    CHECK(child_errno([] { return rc_errno(chmod(p("single.txt").c_str(), 0600)); }) == EPERM);
    CHECK(child_errno([] { return testenv::open_errno(p("single.txt"), O_RDONLY); }) == 0);
    CHECK(child_errno([] { return rc_errno(unlink(p("canary.txt").c_str())); }) == EPERM);
    CHECK(child_errno([] { return rc_errno(rename(p("replacement.txt").c_str(), p("canary.txt").c_str())); }) ==
          EPERM);
    CHECK(testenv::read_file(p("single.txt")) == "single\n");
}

TEST_CASE("a file that appears at a rule's path after the load is refused at its first open", "[paths]") {
    // Control: the same helper reads a file next to it.
    CHECK(child_errno([] { return testenv::open_errno(p("paths/neighbour.txt"), O_RDONLY); }) == 0);
    // Created without being opened (mknod), then opened by another process.
    REQUIRE(mknod(p("paths/later.txt").c_str(), S_IFREG | 0644, 0) == 0);
    json r = denied([] { return testenv::open_errno(p("paths/later.txt"), O_RDONLY); });
    CHECK(r["kind"] == "file_open");
    CHECK(r["policy"] == "pl-paths");
    CHECK(r["path"] == p("paths/later.txt"));
    CHECK(r["via_path"] == true);
    // From then on it is guarded like a file the policy found: it cannot be removed.
    CHECK(child_errno([] { return rc_errno(unlink(p("paths/later.txt").c_str())); }) == EPERM);
    // Put at another rule's path by rename, with content: refused too.
    testenv::write_file(p("paths/later.tmp"), "written elsewhere\n");
    CHECK(child_errno([] { return testenv::open_errno(p("paths/later.tmp"), O_RDONLY); }) == 0);  // control
    REQUIRE(rename(p("paths/later.tmp").c_str(), p("paths/renamed-in.txt").c_str()) == 0);
    CHECK(child_errno([] { return testenv::open_errno(p("paths/renamed-in.txt"), O_RDONLY); }) == EPERM);
    // A kill-on-open path: its first opener dies and reads nothing.
    REQUIRE(mknod(p("paths/later-canary").c_str(), S_IFREG | 0644, 0) == 0);
    Outcome o = testenv::run_child([](int out) {
        int fd = open(p("paths/later-canary").c_str(), O_RDONLY);
        if (fd >= 0) (void)!write(out, "opened", 6);
        return 0;
    });
    CHECK(o.signaled);
    CHECK(o.signal == SIGKILL);
    CHECK(o.output.empty());
    auto recs = records_of(o.pid);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["action"] == "killed");
    CHECK(recs[0]["via_path"] == true);
}

TEST_CASE("a directory above a rule's file cannot be renamed; one above no rule can", "[paths][write]") {
    fs::create_directories(p("paths-sibling/inner"));
    // Control: the helper renames a directory no rule's file is below.
    CHECK(child_errno([] { return rc_errno(rename(p("paths-sibling").c_str(), p("paths-sibling2").c_str())); }) == 0);
    CHECK(fs::exists(p("paths-sibling2/inner")));
    json r = denied([] { return rc_errno(rename(p("paths").c_str(), p("paths-moved").c_str())); });
    CHECK(r["kind"] == "file_change");
    CHECK(r["op"] == "rename");
    CHECK(r["via_directory"] == true);
    CHECK(r["name"] == "paths");
    CHECK(fs::exists(p("paths/neighbour.txt")));
    CHECK_FALSE(fs::exists(p("paths-moved")));
    // An empty directory above a path bound by name: removing it (and making
    // another one) would unbind the path.
    json rm = denied([] { return rc_errno(rmdir(p("paths-empty").c_str())); });
    CHECK(rm["op"] == "rmdir");
    CHECK(fs::is_directory(p("paths-empty")));
    // Swapping it with another directory moves it too.
    CHECK(child_errno([] {
              return rc_errno(renameat2(AT_FDCWD, p("paths-sibling2").c_str(), AT_FDCWD, p("paths").c_str(),
                                        RENAME_EXCHANGE));
          }) == EPERM);
    CHECK(fs::exists(p("paths/neighbour.txt")));
}

TEST_CASE("an audited file replaced as passwd does (write a new file, rename it over) stays audited", "[paths]") {
    const std::string path = p("paths/shadow");
    testenv::write_file(p("paths/nshadow"), "root:new-hash\n");
    REQUIRE(rename(p("paths/nshadow").c_str(), path.c_str()) == 0);  // audit mode: allowed
    Outcome o = testenv::run_child([&](int out) {
        std::string s = testenv::read_file(path);
        return write(out, s.data(), s.size()) == ssize_t(s.size()) ? 0 : 1;
    });
    CHECK(o.exit_code == 0);
    CHECK(o.output == "root:new-hash\n");  // the new file's bytes: it was read
    auto recs = records_of(o.pid);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["action"] == "allowed-by-audit");
    CHECK(recs[0]["policy"] == "pl-paths-audit");
    CHECK(recs[0]["path"] == path);
    CHECK(recs[0]["via_path"] == true);
}

TEST_CASE("a scoped policy applies inside its cgroup and not outside", "[scope]") {
    Outcome inside = testenv::run_child([](int) {
        testenv::join_cgroup(kScope);
        return testenv::open_errno(p("scoped.txt"), O_RDONLY);
    });
    CHECK(inside.exit_code == EPERM);
    auto recs = records_of(inside.pid);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["policy"] == "pl-scoped");
    // A cgroup below the scope's cgroup is inside too.
    Outcome nested = testenv::run_child([](int) {
        testenv::join_cgroup(kScope + "/child");
        return testenv::open_errno(p("scoped.txt"), O_RDONLY);
    });
    CHECK(nested.exit_code == EPERM);
    CHECK(child_errno([] { return testenv::open_errno(p("scoped.txt"), O_RDONLY); }) == 0);
}

TEST_CASE("an audit policy allows and logs what enforce would have denied", "[audit]") {
    Outcome o = testenv::run_child([](int out) {
        std::string s = testenv::read_file(p("audited.txt"));
        return write(out, s.data(), s.size()) == ssize_t(s.size()) ? 0 : 1;
    });
    CHECK(o.exit_code == 0);
    CHECK(o.output == "audited\n");
    auto recs = records_of(o.pid);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["action"] == "allowed-by-audit");
    CHECK(recs[0]["policy"] == "pl-audit");
    CHECK(recs[0]["policy_mode"] == "audit");
    CHECK(recs[0]["path"] == p("audited.txt"));
}

TEST_CASE("the same file in an audit and an enforce policy is enforced", "[precedence]") {
    json r = denied([] { return testenv::open_errno(p("both.txt"), O_RDONLY); });
    CHECK(r["policy"] == "pl-dirs");
    CHECK(r["policy_mode"] == "enforce");
}

namespace {
int exec_in(const std::string& path, const std::string& cgroup) { return testenv::exec_status(path, cgroup); }
}  // namespace

TEST_CASE("an allowlisted program rewritten in place is no longer trusted; one left alone still is", "[exec][content]") {
    CHECK(exec_in(p("exact-tool"), kExecScope) == kToolExit);  // control: trusted as loaded
    CHECK(exec_in(p("exact-tool-2"), kExecScope) == kToolExit);
    struct stat before {};
    REQUIRE(stat(p("exact-tool").c_str(), &before) == 0);
    // Its bytes rewritten in place (same inode) by a process that is no trusted installer.
    Outcome writer = testenv::run_child([](int) {
        const std::string bytes = testenv::read_file(g_self);
        int fd = open(p("exact-tool").c_str(), O_WRONLY);
        if (fd < 0) return 100 + errno;
        const bool ok = pwrite(fd, bytes.data(), bytes.size(), 0) == ssize_t(bytes.size());
        close(fd);
        return ok ? 0 : 1;
    });
    CHECK(writer.exit_code == 0);
    struct stat after {};
    REQUIRE(stat(p("exact-tool").c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    Outcome o = testenv::run_child([](int) {
        testenv::join_cgroup(kExecScope);
        execl(p("exact-tool").c_str(), p("exact-tool").c_str(), testenv::kToolArg, nullptr);
        return 200 + errno;
    });
    CHECK(o.exit_code == 200 + EPERM);
    auto recs = records_of(o.pid);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["kind"] == "exec");
    CHECK(recs[0]["action"] == "denied");
    CHECK(recs[0]["content_changed"] == true);
    CHECK(exec_in(p("exact-tool-2"), kExecScope) == kToolExit);  // the one left alone
}

namespace {
// Runs the suite's trusted installer (busybox) with `args`; its exit status.
int installer(std::vector<std::string> args) {
    Outcome o = testenv::run_child([&](int) {
        std::vector<char*> argv{const_cast<char*>("busybox")};
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(p("inst/busybox").c_str(), argv.data());
        return 200 + errno;
    });
    return o.exited ? o.exit_code : -1;
}
}  // namespace

TEST_CASE("a trusted installer's replacement of an allowlisted program runs with no reload; anyone else's does not",
          "[exec][content]") {
    for (const char* t : {"upgraded-tool", "swapped-tool"}) {
        INFO(t);
        CHECK(exec_in(p(t), kExecScope) == kToolExit);  // control: trusted as loaded
        fs::copy_file(g_self, p(std::string(t) + ".new"), fs::copy_options::overwrite_existing);
        chmod(p(std::string(t) + ".new").c_str(), 0755);
    }
    // The installer renames the new file over the old one (as dpkg does).
    CHECK(installer({"mv", p("upgraded-tool.new"), p("upgraded-tool")}) == 0);
    CHECK(exec_in(p("upgraded-tool"), kExecScope) == kToolExit);
    // ... and rewrites it in place: it stays trusted.
    CHECK(installer({"cp", g_self, p("upgraded-tool")}) == 0);
    CHECK(exec_in(p("upgraded-tool"), kExecScope) == kToolExit);
    // A replacement someone holds open for writing (or mapped shared) while
    // the installer renames it could change after it became trusted: not trusted.
    fs::copy_file(g_self, p("held-tool.new"), fs::copy_options::overwrite_existing);
    chmod(p("held-tool.new").c_str(), 0755);
    const int held = open(p("held-tool.new").c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(held >= 0);
    CHECK(installer({"mv", p("held-tool.new"), p("held-tool")}) == 0);
    close(held);
    CHECK(exec_in(p("held-tool"), kExecScope) == 200 + EPERM);
    // The installer's program run by a non-root user is no installer (anyone
    // may run it with LD_PRELOAD).
    fs::copy_file(g_self, p("userdir/user-tool.new"), fs::copy_options::overwrite_existing);
    chmod(p("userdir/user-tool.new").c_str(), 0755);
    Outcome as_user = testenv::run_child([](int) {
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) return 99;
        execl(p("inst/busybox").c_str(), "busybox", "mv", p("userdir/user-tool.new").c_str(),
              p("userdir/user-tool").c_str(), nullptr);
        return 200 + errno;
    });
    CHECK(as_user.exit_code == 0);  // the rename itself was allowed (the directory is writable)
    CHECK(exec_in(p("userdir/user-tool"), kExecScope) == 200 + EPERM);
    // Anyone else's rename leaves an unknown file: refused.
    CHECK(child_errno([] { return rc_errno(rename(p("swapped-tool.new").c_str(), p("swapped-tool").c_str())); }) == 0);
    CHECK(exec_in(p("swapped-tool"), kExecScope) == 200 + EPERM);
}

TEST_CASE("an allowlisted directory allows everything below it, also added later", "[exec]") {
    CHECK(exec_in(p("bin/tool"), kExecScope) == kToolExit);
    CHECK(exec_in(p("other-tool"), kExecScope) == 200 + EPERM);
    fs::create_directories(p("bin/later"));
    fs::copy_file(g_self, p("bin/later/new-tool"));
    chmod(p("bin/later/new-tool").c_str(), 0755);
    CHECK(exec_in(p("bin/later/new-tool"), kExecScope) == kToolExit);
    CHECK(exec_in(p("other-tool"), kScope) == kToolExit);  // outside the allowlist's scope
}

int main(int argc, char** argv) {
    return testenv::suite_main(
        argc, argv,
        [] {
            g_self = testenv::self_exe();
            setup();
        },
        g_daemon, "/usr/sbin/bulwarkd", p("bulwark.yaml"), [&] { return Catch::Session().run(argc, argv); });
}
