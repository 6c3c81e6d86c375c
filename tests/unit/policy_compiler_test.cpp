// Unit tests for the policy compiler: paths resolved to real (dev, inode)
// identities in temporary directories, scopes resolved against a directory
// tree standing in for the cgroup2 mount, precedence, summary.
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "policy/cgroups.h"
#include "policy/identity.h"
#include "policy/policy.h"
#include "test_util.h"

using namespace bulwark::policy;
using bulwark::test::identity_of;
using bulwark::test::lines;
using bulwark::test::TempDir;
using bulwark::test::with_dir;

namespace {

// A policy document; `body` is spec's content and starts on line 6.
std::string doc(const std::string& name, const std::string& body)
{
    return "apiVersion: bulwark/v1\nkind: Policy\nmetadata:\n  name: " + name + "\nspec:\n" + body;
}

// The lockout guard has its own tests (policy_lockout_test.cpp): here
// host-wide allowlists need not allow this machine's programs.
CompiledPolicy compile_text(const std::string& yaml, CompileOptions opts = {})
{
    const ParseResult parsed = parse_policy_text(yaml, "c.yaml");
    INFO("parse diagnostics: " << Catch::Detail::stringify(lines(parsed.diagnostics)));
    REQUIRE(parsed.ok());
    if (!opts.essential_programs)
        opts.essential_programs.emplace();
    return compile(parsed.policies, opts);
}

uint64_t inode_of(const std::string& path)
{
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<uint64_t>(st.st_ino);
}

std::string loc(const Location& l)
{
    return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

}  // namespace

// --------------------------------------------------------------- identity

TEST_CASE("a rule's file carries its inode generation, read from its file handle", "[policy][identity]")
{
    TempDir dir;
    const std::string file = dir.write("f", "x");
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    unsigned int version = 0;
    const bool known = ::ioctl(fd, FS_IOC_GETVERSION, &version) == 0;  // the filesystem's own answer
    ::close(fd);
    const uint32_t gen = bulwark::policy::detail::inode_generation(file, inode_of(file));
    if (known) {
        CHECK(gen == version);
        const CompiledPolicy cp = compile_text(with_dir(doc("p", "  protectedFiles:\n    - path: {dir}/f\n"), dir.path()));
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].generation == version);
    } else {
        WARN("FS_IOC_GETVERSION is not supported on " << dir.path() << "; generation " << gen);
    }
    // Another inode number than the handle's: not believed.
    CHECK(bulwark::policy::detail::inode_generation(file, inode_of(file) + 1) == 0);
    CHECK(bulwark::policy::detail::inode_generation(dir / "missing", 1) == 0);
}

TEST_CASE("kernel dev encoding is major << 20 | minor, not glibc's st_dev", "[policy][identity]")
{
    CHECK(kernel_dev_from_st_dev(makedev(8, 1)) == ((uint64_t{8} << 20) | 1));
    CHECK(kernel_dev_from_st_dev(makedev(259, 0x12345)) == ((uint64_t{259} << 20) | 0x12345));
    CHECK(kernel_dev_from_st_dev(makedev(0, 0)) == 0);
    // glibc puts minor bits above 255 elsewhere; the kernel encoding does not.
    CHECK(kernel_dev_from_st_dev(makedev(259, 256)) != static_cast<uint64_t>(makedev(259, 256)));

    CHECK(format_kernel_dev((uint64_t{8} << 20) | 1) == "8:1");
    CHECK(format_kernel_dev(kernel_dev_from_st_dev(makedev(4095, 1048575))) == "4095:1048575");
    CHECK(format_kernel_dev(0) == "0:0");

    TempDir dir;
    const std::string f = dir.write("f", "x");
    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    const FileIdentity id = identity_of(f);
    CHECK(id.dev == ((static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev)));
    CHECK(format_kernel_dev(id.dev) == std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)));
}

// ------------------------------------------------------------------ files

TEST_CASE("every rule gets an id and files resolve to their identities", "[policy][compiler]")
{
    TempDir dir;
    const std::string a = dir.write("a", "a");
    const std::string b = dir.write("b", "b");
    const std::string c = dir.write("c", "c");
    const std::string x = dir.write("x", "x");
    const std::string y = dir.write("y", "y");
    const CompiledPolicy cp = compile_text(with_dir(doc("p", R"(  protectedFiles:
    - path: {dir}/a
      deny: write
    - path: {dir}/b
  killOnOpen:
    - path: {dir}/c
  execAllowlist:
    - {dir}/x
    - {dir}/y
)"),
                                                     dir.path()));
    CHECK(cp.diagnostics.empty());
    REQUIRE(cp.ok());

    REQUIRE(cp.rules.size() == 4);
    for (uint32_t i = 0; i < cp.rules.size(); ++i) {
        CHECK(cp.rules[i].id == i);
        CHECK(cp.rules[i].policy == "p");
        CHECK(cp.rules[i].mode == PolicyMode::enforce);
        CHECK(cp.rules[i].scope == 0);
    }
    CHECK(cp.rules[0].kind == RuleKind::protect_write);
    CHECK(cp.rules[0].path == a);
    CHECK(loc(cp.rules[0].loc) == "c.yaml:7:13");
    CHECK(cp.rules[0].identity == identity_of(a));
    CHECK(cp.rules[0].resolved_path == a);
    CHECK(cp.rules[1].kind == RuleKind::protect_all);
    CHECK(cp.rules[2].kind == RuleKind::kill_on_open);
    CHECK(loc(cp.rules[2].loc) == "c.yaml:11:13");
    CHECK(cp.rules[3].kind == RuleKind::exec_allowlist);
    CHECK(cp.rules[3].path == x);  // the first entry
    CHECK(loc(cp.rules[3].loc) == "c.yaml:13:7");

    REQUIRE(cp.files.size() == 3);
    CHECK(cp.files[0].id == identity_of(a));
    CHECK(cp.files[0].kind == RuleKind::protect_write);
    CHECK(cp.files[0].rule_id == 0);
    CHECK(cp.files[0].scope == 0);
    CHECK_FALSE(cp.files[0].audit);
    CHECK(cp.files[0].path == a);
    CHECK(cp.files[1].id == identity_of(b));
    CHECK(cp.files[1].kind == RuleKind::protect_all);
    CHECK(cp.files[1].rule_id == 1);
    CHECK(cp.files[2].id == identity_of(c));
    CHECK(cp.files[2].kind == RuleKind::kill_on_open);
    CHECK(cp.files[2].rule_id == 2);

    CHECK(cp.scopes.empty());
    REQUIRE(cp.allowlists.size() == 1);
    const CompiledAllowlist& al = cp.allowlists[0];
    CHECK(al.index == 0);
    CHECK(al.rule_id == 3);
    CHECK(al.scope == 0);
    CHECK_FALSE(al.audit);
    CHECK(al.files == std::vector<FileIdentity>{identity_of(x), identity_of(y)});
    CHECK(al.paths == std::vector<std::string>{x, y});
    CHECK(al.directories == std::vector<bool>{false, false});
    CHECK(al.missing.empty());
    for (const auto& fe : cp.files)
        CHECK_FALSE(fe.directory);
}

TEST_CASE("audit mode sets the audit flag on files and allowlists", "[policy][compiler]")
{
    TempDir dir;
    dir.write("a", "a");
    dir.write("x", "x");
    const CompiledPolicy cp = compile_text(
        with_dir(doc("p", "  mode: audit\n  killOnOpen: [{path: {dir}/a}]\n  execAllowlist: [{dir}/x]\n"), dir.path()));
    REQUIRE(cp.ok());
    REQUIRE(cp.files.size() == 1);
    CHECK(cp.files[0].audit);
    CHECK(cp.rules[0].mode == PolicyMode::audit);
    REQUIRE(cp.allowlists.size() == 1);
    CHECK(cp.allowlists[0].audit);
}

TEST_CASE("a missing file is bound to its path; in a missing directory it is not enforced", "[policy][compiler]")
{
    TempDir dir;
    const CompiledPolicy cp =
        compile_text(with_dir(doc("p", "  protectedFiles:\n    - path: {dir}/nope\n"), dir.path()));
    CHECK(cp.ok());
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{"c.yaml:7:13: warning: path \"" + dir / "nope" +
                                   "\" does not exist yet; the rule is bound to the path: a file created, renamed "
                                   "or linked there takes it from its first open"});
    REQUIRE(cp.rules.size() == 1);
    CHECK_FALSE(cp.rules[0].identity.has_value());
    CHECK(cp.files.empty());
    struct stat st {};
    REQUIRE(::stat(dir.path().c_str(), &st) == 0);
    const FileIdentity dir_id{kernel_dev_from_st_dev(st.st_dev), st.st_ino};
    REQUIRE(cp.rules[0].bound_dir.has_value());
    CHECK(*cp.rules[0].bound_dir == dir_id);
    REQUIRE(cp.names.size() == 1);
    CHECK(cp.names[0].dir == dir_id);
    CHECK(cp.names[0].name == "nope");
    CHECK(cp.names[0].kind == RuleKind::protect_all);
    CHECK(cp.names[0].rule_id == 0);
    // Its directory is guarded against mounts like a file's.
    CHECK(std::any_of(cp.mount_guards.begin(), cp.mount_guards.end(),
                      [&](const MountGuard& g) { return g.id == dir_id; }));

    // Below a missing directory, or a regular file (ENOTDIR): nothing to bind to.
    dir.write("file", "f");
    const CompiledPolicy cp2 = compile_text(with_dir(
        doc("p", "  killOnOpen:\n    - path: {dir}/file/x\n    - path: {dir}/no-dir/x\n"), dir.path()));
    CHECK(cp2.ok());
    CHECK(cp2.files.empty());
    CHECK(cp2.names.empty());
    CHECK(lines(cp2.diagnostics) ==
          std::vector<std::string>{
              "c.yaml:7:13: warning: path \"" + dir / "file/x" +
                  "\" does not exist; rule not enforced until it does (re-resolved at reload)",
              "c.yaml:8:13: warning: path \"" + dir / "no-dir/x" +
                  "\" does not exist; rule not enforced until it does (re-resolved at reload)"});
}

TEST_CASE("a file rule is bound to its identity and to its path; a directory rule only to its identity",
          "[policy][compiler]")
{
    TempDir dir;
    const std::string file = dir.write("d/secret", "s");
    const CompiledPolicy cp = compile_text(with_dir(
        doc("p", "  protectedFiles:\n    - path: {dir}/d/secret\n      deny: write\n    - path: {dir}/d\n"
                 "      recursive: true\n"),
        dir.path()));
    CHECK(cp.ok());
    REQUIRE(cp.files.size() == 2);
    REQUIRE(cp.names.size() == 1);
    CHECK(cp.names[0].name == "secret");
    CHECK(cp.names[0].kind == RuleKind::protect_write);
    CHECK(cp.names[0].path == file);
    CHECK(cp.rules[0].bound_dir.has_value());
    CHECK_FALSE(cp.rules[1].bound_dir.has_value());
}

TEST_CASE("a symlink is enforced on its target, with a warning naming it", "[policy][compiler]")
{
    TempDir dir;
    const std::string target = dir.write("real/secret", "s");
    dir.symlink(target, "link");
    dir.symlink(dir / "gone", "dangling");
    const CompiledPolicy cp = compile_text(
        with_dir(doc("p", "  killOnOpen:\n    - path: {dir}/link\n    - path: {dir}/dangling\n"), dir.path()));
    CHECK(cp.ok());
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{
              "c.yaml:7:13: warning: path \"" + dir / "link" + "\" is a symlink; the rule is enforced on its target \"" +
                  target + "\"",
              "c.yaml:8:13: warning: path \"" + dir / "dangling" + "\" is a symlink to \"" + dir / "gone" +
                  "\", which does not exist; rule not enforced until it does (re-resolved at reload)",
          });
    REQUIRE(cp.files.size() == 1);
    CHECK(cp.files[0].id == identity_of(target));
    CHECK(cp.files[0].path == target);
    CHECK(cp.rules[0].resolved_path == target);
}

TEST_CASE("directory rules: recursive: true on a directory covers it and everything below it", "[policy][compiler][dirs]")
{
    TempDir dir;
    const std::string secrets = dir.mkdir("srv/secrets");
    const std::string docs = dir.mkdir("srv/docs");
    const std::string trap = dir.mkdir("srv/trap");
    const CompiledPolicy cp = compile_text(with_dir(doc("p", R"(  protectedFiles:
    - path: {dir}/srv/secrets
      recursive: true
    - path: {dir}/srv/docs/
      recursive: true
      deny: write
  killOnOpen:
    - path: {dir}/srv/trap
      recursive: true
)"),
                                                    dir.path()));
    CHECK(cp.diagnostics.empty());
    REQUIRE(cp.ok());
    REQUIRE(cp.rules.size() == 3);
    CHECK(cp.rules[0].directory);
    CHECK(cp.rules[0].identity == identity_of(secrets));
    CHECK(cp.rules[0].resolved_path == secrets);
    CHECK(cp.rules[1].path == docs + "/");  // as written
    CHECK(cp.rules[1].resolved_path == docs);
    REQUIRE(cp.files.size() == 3);
    CHECK(cp.files[0].id == identity_of(secrets));
    CHECK(cp.files[0].kind == RuleKind::protect_all);
    CHECK(cp.files[0].directory);
    CHECK(cp.files[0].path == secrets);
    CHECK(cp.files[1].id == identity_of(docs));
    CHECK(cp.files[1].kind == RuleKind::protect_write);
    CHECK(cp.files[1].directory);
    CHECK(cp.files[2].id == identity_of(trap));
    CHECK(cp.files[2].kind == RuleKind::kill_on_open);
    CHECK(cp.files[2].directory);
}

TEST_CASE("directory rules: a directory needs recursive: true, a trailing '/' needs a directory", "[policy][compiler][dirs]")
{
    TempDir dir;
    dir.mkdir("secrets");
    const std::string file = dir.write("file", "f");
    const CompiledPolicy cp = compile_text(with_dir(doc("p", R"(  protectedFiles:
    - path: {dir}/secrets
    - path: {dir}/secrets/
      recursive: false
    - path: {dir}/file
      recursive: true
    - path: {dir}/file/
      recursive: true
  killOnOpen:
    - path: {dir}/secrets
)"),
                                                    dir.path()));
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{
              "c.yaml:7:13: error: \"" + dir / "secrets" +
                  "\" is a directory; add recursive: true to cover everything below it",
              "c.yaml:8:13: error: \"" + dir / "secrets/" +
                  "\" is a directory; add recursive: true to cover everything below it",
              "c.yaml:10:13: warning: recursive: true has no effect: \"" + file + "\" is not a directory",
              "c.yaml:12:13: error: path \"" + file + "/\" ends in \"/\", but it is not a directory",
              "c.yaml:15:13: error: \"" + dir / "secrets" +
                  "\" is a directory; add recursive: true to cover everything below it",
          });
    // Only the file rule is placed, as a plain file entry.
    REQUIRE(cp.files.size() == 1);
    CHECK(cp.files[0].id == identity_of(file));
    CHECK_FALSE(cp.files[0].directory);
    CHECK_FALSE(cp.rules[2].directory);

    // The same checks hold for a Policy built in code (the parser is not the
    // only producer).
    Policy p;
    p.name = "code";
    p.loc = {"code.yaml", 1, 1};
    p.protected_files.push_back(ProtectedFile{dir / "secrets", DenyKind::all, true, {"code.yaml", 2, 3}});
    p.protected_files.push_back(ProtectedFile{"relative/x", DenyKind::all, false, {"code.yaml", 3, 3}});
    p.kill_on_open.push_back(KillOnOpen{dir.path() + "/", false, {"code.yaml", 4, 3}});
    p.kill_on_open.push_back(KillOnOpen{"/a" + std::string(4096, 'x'), false, {"code.yaml", 5, 3}});
    const CompiledPolicy cc = compile({p});
    CHECK(lines(cc.diagnostics) ==
          std::vector<std::string>{
              "code.yaml:3:3: error: path \"relative/x\" is not absolute",
              "code.yaml:4:3: error: \"" + dir.path() +
                  "/\" is a directory; add recursive: true to cover everything below it",
              "code.yaml:5:3: error: path \"/a" + std::string(198, 'x') + "...\" is longer than 4095 bytes",
          });
    CHECK(cc.rules.size() == 4);
    REQUIRE(cc.files.size() == 1);
    CHECK(cc.files[0].directory);
}

TEST_CASE("directory rules: a symlink to a directory covers its target, with a warning", "[policy][compiler][dirs]")
{
    TempDir dir;
    const std::string real = dir.mkdir("real/vault");
    dir.symlink(real, "vault");
    const CompiledPolicy cp = compile_text(
        with_dir(doc("p", "  protectedFiles:\n    - path: {dir}/vault/\n      recursive: true\n"), dir.path()));
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{"c.yaml:7:13: warning: path \"" + dir / "vault/" +
                                   "\" is a symlink; the rule is enforced on its target \"" + real + "\""});
    REQUIRE(cp.files.size() == 1);
    CHECK(cp.files[0].id == identity_of(real));
    CHECK(cp.files[0].directory);
    CHECK(cp.files[0].path == real);
}

TEST_CASE("allowlist directories: a trailing '/' allows everything below it", "[policy][compiler][dirs]")
{
    TempDir dir;
    const std::string bin = dir.mkdir("bin");
    const std::string tool = dir.write("bin/tool", "t");
    const std::string other = dir.write("other", "o");
    const std::string real = dir.mkdir("opt/real");
    dir.symlink(real, "opt/link");
    const CompiledPolicy cp = compile_text(with_dir(doc("p", R"(  execAllowlist:
    - {dir}/bin/
    - {dir}/other
    - {dir}/bin/tool
    - {dir}/opt/link/
    - {dir}/gone/
)"),
                                                    dir.path()));
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{
              "c.yaml:10:7: warning: path \"" + dir / "opt/link/" + "\" is a symlink; the allowlist allows its target \"" +
                  real + "\"",
              "c.yaml:11:7: warning: path \"" + dir / "gone/" +
                  "\" does not exist; left out of the allowlist until it does (re-resolved at reload)",
          });
    REQUIRE(cp.allowlists.size() == 1);
    const CompiledAllowlist& al = cp.allowlists[0];
    CHECK(al.files == std::vector<FileIdentity>{identity_of(bin), identity_of(other), identity_of(tool), identity_of(real)});
    CHECK(al.paths == std::vector<std::string>{bin, other, tool, real});
    CHECK(al.directories == std::vector<bool>{true, false, false, true});
    CHECK(al.missing == std::vector<std::string>{dir / "gone/"});
    CHECK(cp.files.empty());

    // A directory without the '/', a file with one: errors.
    const CompiledPolicy bad = compile_text(
        with_dir(doc("p", "  execAllowlist:\n    - {dir}/bin\n    - {dir}/other/\n    - {dir}/bin/tool\n"), dir.path()));
    CHECK(lines(bad.diagnostics) ==
          std::vector<std::string>{
              "c.yaml:7:7: error: \"" + bin + "\" is a directory; write it as \"" + bin +
                  "/\" to allow everything below it",
              "c.yaml:8:7: error: path \"" + other + "/\" ends in \"/\", but it is not a directory",
          });
    REQUIRE(bad.allowlists.size() == 1);
    CHECK(bad.allowlists[0].files == std::vector<FileIdentity>{identity_of(tool)});
    CHECK(bad.allowlists[0].directories == std::vector<bool>{false});
}

TEST_CASE("policies built in code: no rules, empty allowlist", "[policy][compiler]")
{
    Policy p;
    p.name = "empty";
    p.loc = {"code.yaml", 1, 1};
    CHECK(lines(compile({p}).diagnostics) ==
          std::vector<std::string>{"code.yaml:1:1: error: policy \"empty\" has no rules"});
    p.exec_allowlist = std::vector<ExecEntry>{};
    const CompiledPolicy cp = compile({p});
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{"code.yaml:1:1: error: execAllowlist is empty; an empty allowlist would deny every "
                                   "exec (remove the key to allow all)"});
    CHECK(cp.allowlists.empty());
}

TEST_CASE("non-directory special files: fine to protect, not to execute", "[policy][compiler]")
{
    TempDir dir;
    const std::string fifo = dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const CompiledPolicy cp = compile_text(
        with_dir(doc("p", "  killOnOpen:\n    - path: {dir}/fifo\n  execAllowlist:\n    - {dir}/fifo\n"), dir.path()));
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{"c.yaml:9:7: error: path \"" + fifo +
                                   "\" is not a regular file; only regular files can be executed"});
    REQUIRE(cp.files.size() == 1);
    CHECK(cp.files[0].id == identity_of(fifo));
}

// ------------------------------------------------------------- allowlists

TEST_CASE("allowlist: missing entries are skipped with a warning, duplicates listed once", "[policy][compiler]")
{
    TempDir dir;
    const std::string tool = dir.write("bin/tool", "t");
    dir.symlink(tool, "bin/alias");
    const CompiledPolicy cp = compile_text(with_dir(
        doc("p", "  execAllowlist:\n    - {dir}/bin/tool\n    - {dir}/bin/missing\n    - {dir}/bin/alias\n"), dir.path()));
    CHECK(cp.ok());
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{
              "c.yaml:8:7: warning: path \"" + dir / "bin/missing" +
                  "\" does not exist; left out of the allowlist until it does (re-resolved at reload)",
              "c.yaml:9:7: warning: path \"" + dir / "bin/alias" + "\" is a symlink; the allowlist allows its target \"" +
                  tool + "\"",
          });
    REQUIRE(cp.allowlists.size() == 1);
    CHECK(cp.allowlists[0].files == std::vector<FileIdentity>{identity_of(tool)});
    CHECK(cp.allowlists[0].paths == std::vector<std::string>{tool});
    CHECK(cp.allowlists[0].missing == std::vector<std::string>{dir / "bin/missing"});
}

TEST_CASE("allowlist: when no entry exists it is still in force, and says so", "[policy][compiler]")
{
    TempDir dir;
    const CompiledPolicy cp =
        compile_text(with_dir(doc("p", "  execAllowlist:\n    - {dir}/a\n    - {dir}/b\n"), dir.path()));
    CHECK(cp.ok());
    const auto w = lines(cp.diagnostics);
    REQUIRE(w.size() == 3);
    CHECK(w[1] == "c.yaml:7:7: warning: none of the execAllowlist entries of policy \"p\" exist; the allowlist is "
                  "still in force and denies every exec on the whole host");
    REQUIRE(cp.allowlists.size() == 1);
    CHECK(cp.allowlists[0].files.empty());
    CHECK(cp.allowlists[0].missing.size() == 2);
}

TEST_CASE("allowlist indexes: in policy order, at most 32", "[policy][compiler]")
{
    TempDir dir;
    dir.write("x", "x");
    std::string yaml;
    for (int i = 0; i < 33; ++i)
        yaml += (i ? "---\n" : "") + doc("p" + std::to_string(i), "  execAllowlist: [{dir}/x]\n");
    const CompiledPolicy cp = compile_text(with_dir(yaml, dir.path()));
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{"c.yaml:230:19: error: too many exec allowlists: at most 32 policies can have "
                                   "execAllowlist (policy \"p32\" is one more)"});
    REQUIRE(cp.allowlists.size() == 32);
    for (uint32_t i = 0; i < 32; ++i) {
        CHECK(cp.allowlists[i].index == i);
        CHECK(cp.allowlists[i].rule_id == i);
    }
}

// ------------------------------------------------------------- precedence

namespace {

// `rule for "PATH" (DESC)` as the compiler's precedence warnings write it.
std::string rule_for(const std::string& path, const std::string& desc)
{
    return "rule for \"" + path + "\" (" + desc + ")";
}

const std::string kNothingLost = "nothing is lost: the winning rule is at least as strong wherever this one applies";

}  // namespace

TEST_CASE("precedence on one identity: enforce, then unscoped, then the stronger action, then the lower id",
          "[policy][compiler][precedence]")
{
    TempDir dir;
    const std::string f = dir.write("f", "f");
    dir.mkdir("cg/app.service");
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";

    SECTION("the stronger action among rules of the same mode and scope")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("weak", "  protectedFiles:\n    - path: {dir}/f\n      deny: write\n") + "---\n" +
                         doc("mid", "  protectedFiles:\n    - path: {dir}/f\n") + "---\n" +
                         doc("strong", "  killOnOpen:\n    - path: {dir}/f\n"),
                     dir.path()));
        CHECK(cp.ok());
        const std::string winner = rule_for(f, "policy strong, killOnOpen, whole host") + " at c.yaml:24:13; ";
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{
                  "c.yaml:7:13: warning: " + rule_for(f, "policy weak, protectedFiles(write), whole host") +
                      " is shadowed by " + winner + kNothingLost,
                  "c.yaml:16:13: warning: " + rule_for(f, "policy mid, protectedFiles(all), whole host") +
                      " is shadowed by " + winner + kNothingLost,
              });
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].kind == RuleKind::kill_on_open);
        CHECK(cp.files[0].rule_id == 2);
        CHECK(cp.files[0].id == identity_of(f));
        CHECK(cp.rules[0].shadowed_by == 2u);
        CHECK(cp.rules[1].shadowed_by == 2u);
        CHECK_FALSE(cp.rules[2].shadowed_by.has_value());
    }
    SECTION("enforce beats audit, even an auditing rule with a stronger action")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("watch", "  mode: audit\n  killOnOpen:\n    - path: {dir}/f\n") + "---\n" +
                         doc("stop", "  protectedFiles:\n    - path: {dir}/f\n      deny: write\n"),
                     dir.path()));
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{
                  "c.yaml:8:13: warning: " + rule_for(f, "policy watch, killOnOpen, audit, whole host") +
                  " is shadowed by " + rule_for(f, "policy stop, protectedFiles(write), whole host") +
                  " at c.yaml:16:13; reads are allowed without being audited (an enforcing rule beats an auditing one)"});
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].rule_id == 1);
        CHECK(cp.files[0].kind == RuleKind::protect_write);
        CHECK_FALSE(cp.files[0].audit);
    }
    SECTION("an enforcing deny-all beats an auditing kill: nothing is lost")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("deny", "  protectedFiles:\n    - path: {dir}/f\n") + "---\n" +
                         doc("watch", "  mode: audit\n  killOnOpen:\n    - path: {dir}/f\n"),
                     dir.path()));
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{"c.yaml:16:13: warning: " +
                                       rule_for(f, "policy watch, killOnOpen, audit, whole host") + " is shadowed by " +
                                       rule_for(f, "policy deny, protectedFiles(all), whole host") + " at c.yaml:7:13; " +
                                       kNothingLost});
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].rule_id == 0);
        CHECK_FALSE(cp.files[0].audit);
    }
    SECTION("unscoped beats scoped, even a scoped rule with a stronger action: host-wide protection is never lost")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("app", "  scope: {units: [app.service]}\n  killOnOpen:\n    - path: {dir}/f\n") + "---\n" +
                         doc("host", "  protectedFiles:\n    - path: {dir}/f\n      deny: write\n"),
                     dir.path()),
            opts);
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{"c.yaml:8:13: warning: " + rule_for(f, "policy app, killOnOpen, scope app.service") +
                                       " is shadowed by " +
                                       rule_for(f, "policy host, protectedFiles(write), whole host") +
                                       " at c.yaml:16:13; inside the scope the file is only write-protected"});
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].rule_id == 1);
        CHECK(cp.files[0].scope == 0);
        CHECK(cp.files[0].kind == RuleKind::protect_write);
    }
    SECTION("then the lower rule id; a hardlink is the same file")
    {
        const std::string hard = dir / "hard";
        REQUIRE(::link(f.c_str(), hard.c_str()) == 0);
        const CompiledPolicy cp = compile_text(
            with_dir(doc("p", "  protectedFiles:\n    - path: {dir}/f\n    - path: {dir}/hard\n"), dir.path()));
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{"c.yaml:8:13: warning: " + rule_for(hard, "policy p, protectedFiles(all), whole host") +
                                       " is shadowed by " + rule_for(f, "policy p, protectedFiles(all), whole host") +
                                       " at c.yaml:7:13; " + kNothingLost});
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].rule_id == 0);
        CHECK(cp.rules[1].identity == identity_of(f));
    }
}

TEST_CASE("precedence on one identity: the warning says what the losing rule loses", "[policy][compiler][precedence]")
{
    TempDir dir;
    const std::string f = dir.write("f", "f");
    const std::string d = dir.mkdir("d");
    dir.mkdir("cg/app.service");
    dir.mkdir("cg/db.service");
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";

    SECTION("an unscoped auditing rule against a scoped enforcing one")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("watch", "  mode: audit\n  protectedFiles:\n    - path: {dir}/f\n") + "---\n" +
                         doc("app", "  scope:\n    units: [app.service]\n  protectedFiles:\n    - path: {dir}/f\n"),
                     dir.path()),
            opts);
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{"c.yaml:8:13: warning: " +
                                       rule_for(f, "policy watch, protectedFiles(all), audit, whole host") +
                                       " is shadowed by " + rule_for(f, "policy app, protectedFiles(all), scope app.service") +
                                       " at c.yaml:18:13; outside the scope of policy app the file is not audited at all"});
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].scope == 1);
        CHECK_FALSE(cp.files[0].audit);
    }
    SECTION("two different scopes")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("a", "  scope: {units: [app.service]}\n  killOnOpen:\n    - path: {dir}/f\n") + "---\n" +
                         doc("b", "  scope: {units: [db.service], cgroups: [{dir}/cg/db.service]}\n  protectedFiles:\n"
                                  "    - path: {dir}/f\n      deny: write\n"),
                     dir.path()),
            opts);
        const auto w = lines(cp.diagnostics, Severity::warning);
        REQUIRE_FALSE(w.empty());
        CHECK(w.back() == "c.yaml:17:13: warning: " +
                              rule_for(f, "policy b, protectedFiles(write), scope [db.service, " + dir / "cg/db.service]") +
                              " is shadowed by " + rule_for(f, "policy a, killOnOpen, scope app.service") +
                              " at c.yaml:8:13; in the scope of policy b but outside the scope of policy a the file is "
                              "not protected at all");
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].rule_id == 0);
        CHECK(cp.files[0].scope == 1);
    }
    SECTION("the same scope written in two policies")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("a", "  scope: {units: [app.service]}\n  killOnOpen:\n    - path: {dir}/f\n") + "---\n" +
                         doc("b", "  scope:\n    units: [app.service, app.service]\n  protectedFiles:\n"
                                  "    - path: {dir}/f\n      deny: write\n"),
                     dir.path()),
            opts);
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{"c.yaml:18:13: warning: " +
                                       rule_for(f, "policy b, protectedFiles(write), scope [app.service, app.service]") +
                                       " is shadowed by " + rule_for(f, "policy a, killOnOpen, scope app.service") +
                                       " at c.yaml:8:13; " + kNothingLost});
    }
    SECTION("a directory named by two rules")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("app", "  scope: {units: [app.service]}\n  killOnOpen:\n    - path: {dir}/d\n"
                                "      recursive: true\n") +
                         "---\n" +
                         doc("host", "  protectedFiles:\n    - path: {dir}/d/\n      recursive: true\n      deny: write\n"),
                     dir.path()),
            opts);
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{"c.yaml:8:13: warning: " + rule_for(d, "policy app, killOnOpen, scope app.service") +
                                       " is shadowed by " +
                                       rule_for(d + "/", "policy host, protectedFiles(write), whole host") +
                                       " at c.yaml:17:13; inside the scope the directory and everything below it are "
                                       "only write-protected"});
        REQUIRE(cp.files.size() == 1);
        CHECK(cp.files[0].directory);
        CHECK(cp.files[0].rule_id == 1);
    }
}

TEST_CASE("precedence at run time: a file rule weaker than a directory rule above it is warned about",
          "[policy][compiler][precedence][dirs]")
{
    TempDir dir;
    const std::string d = dir.mkdir("d");
    const std::string weak = dir.write("d/sub/weak", "w");
    const std::string strong = dir.write("d/strong", "s");
    const std::string other = dir.write("other", "o");
    dir.mkdir("cg/app.service");
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";

    SECTION("an unscoped directory rule outranks weaker rules below it, not stronger ones")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("dirs", "  protectedFiles:\n    - path: {dir}/d\n      recursive: true\n") + "---\n" +
                         doc("files", "  protectedFiles:\n    - path: {dir}/d/sub/weak\n      deny: write\n"
                                      "  killOnOpen:\n    - path: {dir}/d/strong\n    - path: {dir}/other\n"),
                     dir.path()));
        CHECK(lines(cp.diagnostics) ==
              std::vector<std::string>{
                  "c.yaml:16:13: warning: " + rule_for(weak, "policy files, protectedFiles(write), whole host") +
                  " is shadowed at run time by the stronger directory " +
                  rule_for(d, "policy dirs, protectedFiles(all), whole host") +
                  " at c.yaml:7:13, which covers it: the kernel applies the strongest matching rule, so this rule never "
                  "decides"});
        CHECK(cp.rules[1].outranked_by == 0u);
        CHECK_FALSE(cp.rules[2].outranked_by.has_value());
        CHECK_FALSE(cp.rules[3].outranked_by.has_value());
        // Not a conflict: every rule keeps its own entry.
        CHECK(cp.files.size() == 4);
    }
    SECTION("a scoped directory rule outranks only rules of the same scope; enforce outranks audit")
    {
        const CompiledPolicy cp = compile_text(
            with_dir(doc("app", "  scope: {units: [app.service]}\n  killOnOpen:\n    - path: {dir}/d\n"
                                "      recursive: true\n  protectedFiles:\n    - path: {dir}/d/strong\n") +
                         "---\n" +
                         doc("host", "  protectedFiles:\n    - path: {dir}/d/sub/weak\n      deny: write\n") + "---\n" +
                         doc("audit", "  mode: audit\n  killOnOpen:\n    - path: {dir}/d/sub/weak\n"),
                     dir.path()),
            opts);
        const auto w = lines(cp.diagnostics, Severity::warning);
        // host's write rule (unscoped) wins weak's identity over audit's kill;
        // only app's own file rule is outranked by app's directory rule.
        REQUIRE(w.size() == 2);
        CHECK(w[1].rfind("c.yaml:29:13: warning: " + rule_for(weak, "policy audit, killOnOpen, audit, whole host") +
                             " is shadowed by ",
                         0) == 0);
        CHECK(w[0] == "c.yaml:11:13: warning: " + rule_for(strong, "policy app, protectedFiles(all), scope app.service") +
                          " is shadowed at run time by the stronger directory " +
                          rule_for(d, "policy app, killOnOpen, scope app.service") +
                          " at c.yaml:8:13, which covers it: the kernel applies the strongest matching rule, so this "
                          "rule never decides");
    }
    SECTION("the kernel looks at most 32 directories up")
    {
        std::string near = "d";
        for (int i = 0; i < 31; ++i)
            near += "/n";
        std::string far = "d";
        for (int i = 0; i < 32; ++i)
            far += "/f";
        const std::string near_file = dir.write(near + "/file", "n");  // d is its 32nd ancestor
        const std::string far_file = dir.write(far + "/file", "f");    // d is its 33rd ancestor
        const CompiledPolicy cp = compile_text(
            with_dir(doc("p", "  killOnOpen:\n    - path: {dir}/d\n      recursive: true\n  protectedFiles:\n"
                              "    - path: {dir}/" + near + "/file\n    - path: {dir}/" + far + "/file\n"),
                     dir.path()));
        // protectedFiles rules come first: 0 near, 1 far, 2 the directory.
        CHECK(cp.rules[0].outranked_by == 2u);
        CHECK_FALSE(cp.rules[1].outranked_by.has_value());
        CHECK(lines(cp.diagnostics, Severity::warning).size() == 1);
    }
}

// ----------------------------------------------------------------- scopes

TEST_CASE("units are found by name below the cgroup2 root, breadth-first, 8 levels deep", "[policy][compiler][scope]")
{
    TempDir dir;
    const std::string root = dir.mkdir("cg");
    const std::string a = dir.mkdir("cg/system.slice/web.service");
    dir.mkdir("cg/system.slice/web.service/sub/web.service");  // below a match: not searched
    const std::string b = dir.mkdir("cg/a/b/c/d/e/f/g/web.service");       // level 8
    dir.mkdir("cg/a/b/c/d/e/f/g/h/web.service");                           // level 9: too deep
    const std::string other = dir.write("f", "f");
    CompileOptions opts;
    opts.cgroup2_root = root;

    const CompiledPolicy cp = compile_text(
        with_dir(doc("host", "  killOnOpen: [{path: {dir}/f}]\n") + "---\n" +
                     doc("web", "  scope:\n    units: [web.service]\n  protectedFiles:\n    - path: {dir}/f\n      deny: write\n"),
                 dir.path()),
        opts);
    REQUIRE(cp.ok());
    REQUIRE(cp.scopes.size() == 1);
    const CompiledScope& s = cp.scopes[0];
    CHECK(s.bit == 1);
    CHECK(s.policy == "web");
    CHECK(s.cgroup_paths == std::vector<std::string>{b, a});  // sorted by path
    CHECK(s.cgroup_ids == std::vector<uint64_t>{inode_of(b), inode_of(a)});
    CHECK(s.unresolved.empty());
    CHECK(cp.rules[0].scope == 0);
    CHECK(cp.rules[1].scope == 1);
}

TEST_CASE("a unit that is not running: warning, and the policy stays scoped", "[policy][compiler][scope]")
{
    TempDir dir;
    dir.mkdir("cg/system.slice");
    const std::string f = dir.write("f", "f");
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";
    const CompiledPolicy cp = compile_text(
        with_dir(doc("web", "  scope:\n    units: [nginx.service]\n  protectedFiles:\n    - path: {dir}/f\n"), dir.path()),
        opts);
    CHECK(cp.ok());
    CHECK(lines(cp.diagnostics) ==
          std::vector<std::string>{
              "c.yaml:7:5: warning: unit \"nginx.service\" is not running; scope resolved again at the next reload",
              "c.yaml:7:5: warning: scope of policy \"web\" matches no cgroup now; the policy applies to no process "
              "until a reload finds one",
          });
    REQUIRE(cp.scopes.size() == 1);
    CHECK(cp.scopes[0].cgroup_ids.empty());
    CHECK(cp.scopes[0].unresolved == std::vector<std::string>{"unit nginx.service"});
    // Never host-wide: the file entry keeps the scope bit.
    REQUIRE(cp.files.size() == 1);
    CHECK(cp.files[0].scope == 1);
}

TEST_CASE("scope cgroups must be cgroup v2 directories", "[policy][compiler][scope]")
{
    TempDir dir;
    dir.mkdir("plain");
    dir.write("file", "f");
    const CompiledPolicy cp = compile_text(
        with_dir(doc("p", "  scope:\n    cgroups: [{dir}/plain, {dir}/file, {dir}/gone]\n  killOnOpen: [{path: /x}]\n"),
                 dir.path()));
    const auto d = lines(cp.diagnostics);
    REQUIRE(d.size() >= 3);
    CHECK(d[0] == "c.yaml:7:5: error: cgroup \"" + dir / "plain" + "\" is not on a cgroup v2 filesystem");
    CHECK(d[1] == "c.yaml:7:5: error: cgroup \"" + dir / "file" + "\" is not a directory");
    CHECK(d[2] == "c.yaml:7:5: warning: cgroup \"" + dir / "gone" +
                      "\" does not exist; scope resolved again at the next reload");
    CHECK_FALSE(cp.ok());
}

TEST_CASE("a real cgroup v2 directory: its id is its inode number", "[policy][compiler][scope]")
{
    const std::string mount = detail::find_cgroup2_mount();
    if (mount.empty()) {
        WARN("no cgroup2 filesystem mounted here; nothing to check");
        return;
    }
    const CompiledPolicy cp = compile_text(doc("p", "  scope:\n    cgroups: [" + mount + "]\n  killOnOpen: [{path: /x}]\n"));
    CHECK(cp.ok());
    REQUIRE(cp.scopes.size() == 1);
    CHECK(cp.scopes[0].cgroup_ids == std::vector<uint64_t>{inode_of(mount)});
    CHECK(cp.scopes[0].cgroup_paths == std::vector<std::string>{mount});
}

TEST_CASE("scope bits are 1..63 in policy order and a 64th scoped policy is an error", "[policy][compiler][scope]")
{
    TempDir dir;
    dir.mkdir("cg/u.service");
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";
    std::string yaml = doc("host", "  killOnOpen: [{path: /x}]\n");  // no bit
    for (int i = 0; i < 64; ++i)
        yaml += "---\n" + doc("s" + std::to_string(i), "  scope: {units: [u.service]}\n  killOnOpen: [{path: /x}]\n");
    const CompiledPolicy cp = compile_text(yaml, opts);
    const auto errors = lines(cp.diagnostics, Severity::error);
    CHECK(errors == std::vector<std::string>{"c.yaml:517:10: error: too many scoped policies: at most 63 policies can "
                                             "have a scope (policy \"s63\" is one more)"});
    REQUIRE(cp.scopes.size() == 63);
    for (uint32_t i = 0; i < 63; ++i) {
        CHECK(cp.scopes[i].bit == i + 1);
        CHECK(cp.scopes[i].policy == "s" + std::to_string(i));
    }
    CHECK(cp.rules[0].scope == 0);
    CHECK(cp.rules[1].scope == 1);
    CHECK(cp.rules[63].scope == 63);
}

TEST_CASE("find_cgroup2_mount reads mountinfo", "[policy][scope]")
{
    CHECK(detail::find_cgroup2_mount("") == "");
    CHECK(detail::find_cgroup2_mount("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n") == "");
    CHECK(detail::find_cgroup2_mount(
              "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
              "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:5 - cgroup cgroup rw,cpu\n"
              "41 31 0:38 / /sys/fs/cgroup/my\\040unified rw,relatime shared:9 master:2 - cgroup2 cgroup2 rw\n"
              "42 31 0:39 / /other rw - cgroup2 cgroup2 rw\n") == "/sys/fs/cgroup/my unified");
    CHECK(detail::find_cgroup2_mount("29 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate") ==
          "/sys/fs/cgroup");
}

// ---------------------------------------------------------------- summary

TEST_CASE("summarize: every policy, scope and rule, then what is in force", "[policy][summary]")
{
    TempDir dir;
    const std::string f = dir.write("f", "f");
    const std::string x = dir.write("x", "x");
    const std::string d = dir.mkdir("d");
    const std::string bin = dir.mkdir("bin");
    const std::string unit = dir.mkdir("cg/app.service");
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";
    const CompiledPolicy cp = compile_text(
        with_dir(doc("host", "  protectedFiles:\n    - path: {dir}/f\n      deny: write\n    - path: {dir}/nope\n"
                             "    - path: {dir}/d/\n      recursive: true\n"
                             "  execAllowlist: [{dir}/x, {dir}/y, {dir}/bin/]\n") +
                     "---\n" +
                     doc("app", "  mode: audit\n  scope: {units: [app.service, gone.service]}\n  killOnOpen:\n"
                                "    - path: {dir}/f\n"),
                 dir.path()),
        opts);
    REQUIRE(cp.ok());
    const auto id = [](const std::string& p) {
        const FileIdentity i = identity_of(p);
        return "dev " + format_kernel_dev(i.dev) + " ino " + std::to_string(i.ino);
    };
    const std::string expected =
        "policy host (enforce) from c.yaml\n"
        "  scope: whole host\n"
        "  rule 0 protectedFiles(write) " + f + ": " + id(f) + "\n"
        "  rule 1 protectedFiles(all) " + dir / "nope" +
            ": not there yet, bound to its path (a file that appears there takes the rule)\n"
        "  rule 2 protectedFiles(all) " + d + "/: directory and everything below it, " + id(d) + "\n"
        "  rule 3 execAllowlist index 0, 2 entries allowed\n"
        "    " + x + ": " + id(x) + "\n"
        "    " + bin + "/ and everything below it: " + id(bin) + "\n"
        "    " + dir / "y" + ": not found\n"
        "policy app (audit) from c.yaml\n"
        "  scope: bit 1 (app.service, gone.service), 1 cgroup\n"
        "    cgroup " + unit + " id " + std::to_string(inode_of(unit)) + "\n"
        "    unit gone.service not found\n"
        "  rule 4 killOnOpen " + f + ": " + id(f) + ", shadowed by rule 0\n"
        "in force (after precedence):\n"
        "  " + f + ": writes denied (enforce, whole host; rule 0, policy host)\n"
        "  " + d + "/ and everything below it: every open denied (enforce, whole host; rule 2, policy host)\n"
        "  exec allowlist 0: 2 entries (enforce, whole host; rule 3, policy host)\n"
        "total: 2 policies, 5 rules, 2 file identities and 2 paths enforced, 1 scope, 1 exec allowlist, 1 path not "
        "found\n"
        "not covered: raw block-device access: whoever may open the device under a filesystem (root) reads and "
        "writes its bytes without opening the file (docs/policy.md, \"Out of a file policy's reach\")\n";
    CHECK(summarize(cp) == expected);
    CHECK(summarize(cp) == summarize(cp));
    CHECK(summarize(CompiledPolicy{}) ==
          "in force (after precedence):\n"
          "  nothing\n"
          "total: 0 policies, 0 rules, 0 file identities and 0 paths enforced, 0 scopes, 0 exec allowlists, 0 paths not found\n");
}

TEST_CASE("summarize: outranked rules, scoped entries, symlinks", "[policy][summary]")
{
    TempDir dir;
    const std::string d = dir.mkdir("d");
    const std::string inner = dir.write("d/inner", "i");
    const std::string target = dir.write("target", "t");
    dir.symlink(target, "link");
    dir.mkdir("cg/app.service");
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";
    const CompiledPolicy cp = compile_text(
        with_dir(doc("p", "  killOnOpen:\n    - path: {dir}/d\n      recursive: true\n  protectedFiles:\n"
                          "    - path: {dir}/d/inner\n") +
                     "---\n" + doc("s", "  mode: audit\n  scope: {units: [app.service]}\n  protectedFiles:\n    - path: {dir}/link\n"),
                 dir.path()),
        opts);
    REQUIRE(cp.ok());
    const std::string out = summarize(cp);
    CHECK(out.find("  rule 0 protectedFiles(all) " + inner + ": " + std::string("dev ")) != std::string::npos);
    CHECK(out.find(", outranked at run time by directory rule 1\n") != std::string::npos);
    CHECK(out.find("  rule 2 protectedFiles(all) " + dir / "link" + " -> " + target + ": dev ") != std::string::npos);
    CHECK(out.find("  " + target + ": every open denied (audit, scope of policy s; rule 2, policy s)\n") !=
          std::string::npos);
    CHECK(out.find("  " + d + "/ and everything below it: opener killed (enforce, whole host; rule 1, policy p)\n") !=
          std::string::npos);
}

TEST_CASE("exec allowlists whose scopes can hold the same process are reported", "[policy][compiler][summary]")
{
    TempDir dir;
    dir.write("x", "x");
    const std::string outer = dir.mkdir("cg/outer.slice");
    const std::string inner = dir.mkdir("cg/outer.slice/inner.service");
    dir.mkdir("cg/apart.service");
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";
    const auto al = [](const std::string& scope) { return scope + "  execAllowlist: [{dir}/x]\n"; };
    const CompiledPolicy cp = compile_text(
        with_dir(doc("host1", al("")) + "---\n" + doc("host2", al("")) + "---\n" +
                     doc("outer", al("  scope: {units: [outer.slice]}\n")) + "---\n" +
                     doc("inner", al("  scope: {cgroups: [{dir}/cg/outer.slice/inner.service]}\n")) + "---\n" +
                     doc("apart", al("  scope: {units: [apart.service]}\n")) + "---\n" +
                     doc("apart2", al("  scope: {units: [apart.service]}\n")),
                 dir.path()),
        opts);
    // Plain directories stand in for cgroups here: scope.cgroups needs cgroup2.
    const auto errors = lines(cp.diagnostics, Severity::error);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("is not on a cgroup v2 filesystem") != std::string::npos);

    std::vector<std::string> got;
    for (const auto& o : cp.allowlist_overlaps)
        got.push_back(std::to_string(o.first) + "+" + std::to_string(o.second) + ": " + o.reason);
    CHECK(got == std::vector<std::string>{
                     "0+1: both apply to the whole host",
                     "0+2: the allowlist of policy host1 applies to the whole host",
                     "0+3: the allowlist of policy host1 applies to the whole host",
                     "0+4: the allowlist of policy host1 applies to the whole host",
                     "0+5: the allowlist of policy host1 applies to the whole host",
                     "1+2: the allowlist of policy host2 applies to the whole host",
                     "1+3: the allowlist of policy host2 applies to the whole host",
                     "1+4: the allowlist of policy host2 applies to the whole host",
                     "1+5: the allowlist of policy host2 applies to the whole host",
                     "4+5: both scopes name unit apart.service",
                 });

    // With real cgroup paths (units found below the root), nesting counts.
    const CompiledPolicy nested = compile_text(
        with_dir(doc("outer", al("  scope: {units: [outer.slice]}\n")) + "---\n" +
                     doc("inner", al("  scope: {units: [inner.service]}\n")) + "---\n" +
                     doc("apart", al("  scope: {units: [apart.service]}\n")),
                 dir.path()),
        opts);
    REQUIRE(nested.ok());
    REQUIRE(nested.allowlist_overlaps.size() == 1);
    CHECK(nested.allowlist_overlaps[0].first == 0);
    CHECK(nested.allowlist_overlaps[0].second == 1);
    CHECK(nested.allowlist_overlaps[0].reason ==
          "cgroup " + inner + " (policy inner) is below cgroup " + outer + " (policy outer)");
    const std::string out = summarize(nested);
    CHECK(out.find("  a process must pass every exec allowlist whose scope holds it\n"
                   "  note: exec allowlists 0 and 1 can hold the same process (cgroup " +
                   inner + " (policy inner) is below cgroup " + outer +
                   " (policy outer)); it may only execute what both allow\n") != std::string::npos);
}

TEST_CASE("parse_policy_paths then compile, from files on disk", "[policy][compiler][files]")
{
    TempDir dir;
    const std::string secret = dir.write("data/secret", "s");
    const std::string pol = dir.write("policies.d/10-secret.yaml",
                                      with_dir(doc("secret", "  killOnOpen:\n    - path: {dir}/data/secret\n"), dir.path()));
    const ParseResult parsed = parse_policy_paths({dir / "policies.d"});
    REQUIRE(parsed.ok());
    const CompiledPolicy cp = compile(parsed.policies);
    REQUIRE(cp.ok());
    REQUIRE(cp.files.size() == 1);
    CHECK(cp.files[0].id == identity_of(secret));
    CHECK(cp.rules[0].loc.file == pol);
    CHECK(cp.rules[0].loc.line == 7);
}

// Mapping code is exec in LSM mode: the loader, the libraries and a
// script's interpreter must be allowed too.  /usr/bin/true is a real,
// dynamically linked Debian program (coreutils).
TEST_CASE("check warns when an allowed program's loader, libraries or interpreter are not allowed",
          "[policy][compiler][elf]")
{
    TempDir dir;
    const std::string script = dir.write("run.sh", "#!/bin/sh\necho hi\n");
    const CompiledPolicy bare = compile_text(with_dir(doc("p", "  execAllowlist:\n    - /usr/bin/true\n    - {dir}/run.sh\n"),
                                                      dir.path()));
    REQUIRE(bare.ok());
    const auto warnings = lines(bare.diagnostics, Severity::warning);
    INFO(Catch::Detail::stringify(warnings));
    auto has = [&](const std::string& text) {
        return std::any_of(warnings.begin(), warnings.end(),
                           [&](const std::string& w) { return w.find(text) != std::string::npos; });
    };
    CHECK(has("path \"/usr/bin/true\" starts through its ELF interpreter /lib64/ld-linux-x86-64.so.2 (" +
              std::filesystem::canonical("/lib64/ld-linux-x86-64.so.2").string() +
              "), which this allowlist does not allow: in LSM mode the program cannot start"));
    CHECK(has("path \"/usr/bin/true\" needs library libc.so.6 (" +
              std::filesystem::canonical("/lib/x86_64-linux-gnu/libc.so.6").string() + "), which this allowlist does not allow"));
    CHECK(has("path \"" + script + "\" is a script run by /bin/sh"));
    // Warnings point at the entry.
    CHECK(has("c.yaml:7:7: warning: path \"/usr/bin/true\" needs library libc.so.6"));

    // The loader's and the libraries' directories, and the interpreter: quiet.
    const CompiledPolicy full = compile_text(with_dir(
        doc("p", "  execAllowlist:\n    - /usr/bin/true\n    - {dir}/run.sh\n    - /bin/sh\n"
                 "    - /usr/lib/x86_64-linux-gnu/\n    - /usr/lib64/\n"),
        dir.path()));
    REQUIRE(full.ok());
    INFO(Catch::Detail::stringify(lines(full.diagnostics)));
    for (const auto& w : lines(full.diagnostics, Severity::warning)) {
        CHECK(w.find("does not allow") == std::string::npos);
    }
}
