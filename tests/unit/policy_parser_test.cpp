// Unit tests for the policy parser: YAML text -> Policy, with exact
// diagnostics (text, line, column).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "policy/policy.h"
#include "test_util.h"

using namespace bulwark::policy;
using bulwark::test::lines;
using bulwark::test::TempDir;

namespace {

ParseResult parse(const std::string& text)
{
    return parse_policy_text(text, "p.yaml");
}

// Lines 1-5 of a policy document; spec's content starts on line 6.
std::string header(const std::string& name = "demo")
{
    return "apiVersion: bulwark/v1\n"
           "kind: Policy\n"
           "metadata:\n"
           "  name: " + name + "\n"
           "spec:\n";
}

std::vector<std::string> errors_of(const std::string& text)
{
    return lines(parse(text).diagnostics, Severity::error);
}

}  // namespace

TEST_CASE("a complete policy parses with every field and location", "[policy][parser]")
{
    const auto r = parse(R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: protect-secrets
spec:
  mode: audit
  scope:
    units: [nginx.service]
    cgroups: [/sys/fs/cgroup/unified/demo]
  protectedFiles:
    - path: /etc/shadow
      deny: write
    - path: /etc/gshadow
      recursive: false
  killOnOpen:
    - path: /tmp/secret
  execAllowlist:
    - /usr/bin/true
    - /usr/sbin/nginx
)");
    REQUIRE(r.diagnostics.empty());
    REQUIRE(r.ok());
    REQUIRE(r.policies.size() == 1);
    const Policy& p = r.policies[0];
    CHECK(p.name == "protect-secrets");
    CHECK(p.mode == PolicyMode::audit);
    CHECK(p.loc.file == "p.yaml");
    CHECK(p.loc.line == 1);
    CHECK(p.loc.column == 1);

    REQUIRE(p.scope.has_value());
    CHECK(p.scope->units == std::vector<std::string>{"nginx.service"});
    CHECK(p.scope->cgroups == std::vector<std::string>{"/sys/fs/cgroup/unified/demo"});
    CHECK(p.scope->loc.line == 8);
    CHECK(p.scope->loc.column == 5);

    REQUIRE(p.protected_files.size() == 2);
    CHECK(p.protected_files[0].path == "/etc/shadow");
    CHECK(p.protected_files[0].deny == DenyKind::write);
    CHECK_FALSE(p.protected_files[0].recursive);
    CHECK(p.protected_files[0].loc.line == 11);
    CHECK(p.protected_files[0].loc.column == 13);
    CHECK(p.protected_files[1].path == "/etc/gshadow");
    CHECK(p.protected_files[1].deny == DenyKind::all);  // default

    REQUIRE(p.kill_on_open.size() == 1);
    CHECK(p.kill_on_open[0].path == "/tmp/secret");
    CHECK(p.kill_on_open[0].loc.line == 16);
    CHECK(p.kill_on_open[0].loc.column == 13);

    REQUIRE(p.exec_allowlist.has_value());
    REQUIRE(p.exec_allowlist->size() == 2);
    CHECK((*p.exec_allowlist)[0].path == "/usr/bin/true");
    CHECK((*p.exec_allowlist)[0].loc.line == 18);
    CHECK((*p.exec_allowlist)[0].loc.column == 7);
    CHECK((*p.exec_allowlist)[1].path == "/usr/sbin/nginx");
}

TEST_CASE("defaults: enforce, whole host, deny all, no allowlist", "[policy][parser]")
{
    const auto r = parse(header() + "  protectedFiles:\n    - path: /etc/shadow\n");
    REQUIRE(r.ok());
    REQUIRE(r.policies.size() == 1);
    const Policy& p = r.policies[0];
    CHECK(p.mode == PolicyMode::enforce);
    CHECK_FALSE(p.scope.has_value());
    CHECK(p.protected_files[0].deny == DenyKind::all);
    CHECK_FALSE(p.protected_files[0].recursive);
    CHECK(p.kill_on_open.empty());
    CHECK_FALSE(p.exec_allowlist.has_value());
}

TEST_CASE("several documents in one file, empty documents ignored", "[policy][parser]")
{
    const auto r = parse("---\n" + header("one") + "  killOnOpen: [{path: /a}]\n---\n" + header("two") +
                         "  execAllowlist: [/b]\n---\n");
    REQUIRE(r.diagnostics.empty());
    REQUIRE(r.policies.size() == 2);
    CHECK(r.policies[0].name == "one");
    CHECK(r.policies[0].loc.line == 2);
    CHECK(r.policies[1].name == "two");
    CHECK(r.policies[1].loc.line == 9);
}

TEST_CASE("a file without documents is a warning, not an error", "[policy][parser]")
{
    const auto r = parse("# nothing here yet\n");
    CHECK(r.ok());
    CHECK(r.policies.empty());
    CHECK(lines(r.diagnostics) == std::vector<std::string>{"p.yaml: warning: file holds no policy documents"});
}

TEST_CASE("YAML syntax errors carry the parser's position", "[policy][parser]")
{
    CHECK(errors_of("apiVersion: bulwark/v1\nkind: Policy\nmetadata:\n  name: a\n   bad: x\n") ==
          std::vector<std::string>{"p.yaml:5:7: error: YAML syntax error: mapping values are not allowed in this context"});
    CHECK(errors_of("a: [b\n") ==
          std::vector<std::string>{"p.yaml:2:1: error: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence"});
}

TEST_CASE("a stray comma is a syntax error where it stands", "[policy][parser][limits]")
{
    // yaml-cpp 0.7 returns empty documents forever for a stray top-level ','.
    CHECK(errors_of(",") == std::vector<std::string>{"p.yaml:1:1: error: YAML syntax error: did not find expected node content while parsing a block node"});
    CHECK(errors_of(",#)[") == std::vector<std::string>{"p.yaml:1:1: error: YAML syntax error: did not find expected node content while parsing a block node"});
    const auto r = parse(header("ok") + "  killOnOpen: [{path: /a}]\n---\n,\n");
    CHECK(lines(r.diagnostics) == std::vector<std::string>{"p.yaml:8:1: error: YAML syntax error: did not find expected node content while parsing a block node"});
    CHECK(r.policies.size() == 1);
}

TEST_CASE("documents before a syntax error are still checked", "[policy][parser]")
{
    const auto r = parse(header("first") + "  protectedFiles:\n    - pathh: /a\n---\n{ broken\n");
    CHECK(lines(r.diagnostics) ==
          std::vector<std::string>{
              "p.yaml:7:7: error: unknown key \"pathh\" in protectedFiles entry; expected one of: path, deny, recursive",
              "p.yaml:7:7: error: missing required key \"path\" in protectedFiles entry",
              "p.yaml:10:1: error: YAML syntax error: did not find expected ',' or '}' while parsing a flow mapping",
          });
    CHECK(r.policies.empty());
}

TEST_CASE("unknown keys are errors at the key, naming the keys allowed", "[policy][parser]")
{
    CHECK(errors_of(header() + "  protectedFiles:\n    - path: /etc/shadow\n      pathh: /x\n") ==
          std::vector<std::string>{
              "p.yaml:8:7: error: unknown key \"pathh\" in protectedFiles entry; expected one of: path, deny, recursive"});
    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  protectFiles: []\n") ==
          std::vector<std::string>{"p.yaml:7:3: error: unknown key \"protectFiles\" in spec; expected one of: mode, "
                                   "scope, protectedFiles, killOnOpen, execAllowlist, allowLockout"});
    CHECK(errors_of("apiVersion: bulwark/v1\nkind: Policy\nmetadata: {name: a, labels: {}}\nspec:\n  "
                    "killOnOpen: [{path: /a}]\nstatus: 1\n") ==
          std::vector<std::string>{
              "p.yaml:3:21: error: unknown key \"labels\" in metadata; expected name",
              "p.yaml:6:1: error: unknown key \"status\" in policy document; expected one of: apiVersion, kind, "
              "metadata, spec",
          });
    CHECK(errors_of(header() + "  killOnOpen:\n    - path: /a\n      deny: all\n") ==
          std::vector<std::string>{
              "p.yaml:8:7: error: unknown key \"deny\" in killOnOpen entry; expected one of: path, recursive"});
    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  scope:\n    unit: [a.service]\n") ==
          std::vector<std::string>{
              "p.yaml:8:5: error: unknown key \"unit\" in scope; expected one of: units, cgroups",
              "p.yaml:8:5: error: scope has neither units nor cgroups; remove scope to apply the policy to the whole host",
          });
}

TEST_CASE("duplicate and non-string keys", "[policy][parser]")
{
    CHECK(errors_of(header() + "  protectedFiles:\n    - path: /a\n      path: /b\n") ==
          std::vector<std::string>{"p.yaml:8:7: error: duplicate key \"path\" in protectedFiles entry"});
    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  [x]: 1\n") ==
          std::vector<std::string>{"p.yaml:7:3: error: expected a string key in spec, found a sequence"});
}

TEST_CASE("wrong types say what was expected and what was found", "[policy][parser]")
{
    CHECK(errors_of("- a\n- b\n") ==
          std::vector<std::string>{"p.yaml:1:1: error: expected a mapping (a policy document), found a sequence"});
    CHECK(errors_of("apiVersion: bulwark/v1\nkind: Policy\nmetadata: [a]\nspec:\n  killOnOpen: [{path: /a}]\n") ==
          std::vector<std::string>{"p.yaml:3:11: error: expected a mapping, found a sequence"});
    CHECK(errors_of(header() + "  protectedFiles: {path: /a}\n") ==
          std::vector<std::string>{"p.yaml:6:19: error: expected a sequence, found a mapping"});
    CHECK(errors_of(header() + "  protectedFiles:\n    - /etc/shadow\n") ==
          std::vector<std::string>{
              "p.yaml:7:7: error: expected a mapping (a protectedFiles entry), found a scalar"});
    CHECK(errors_of(header() + "  execAllowlist:\n    - {path: /bin/true}\n") ==
          std::vector<std::string>{"p.yaml:7:7: error: expected a string, found a mapping"});
    CHECK(errors_of(header() + "  killOnOpen:\n    - path:\n") ==
          std::vector<std::string>{"p.yaml:7:7: error: expected a string, found null"});
    CHECK(errors_of(header() + "  execAllowlist:\n") ==
          std::vector<std::string>{"p.yaml:6:3: error: expected a sequence, found null"});
    CHECK(errors_of("apiVersion: bulwark/v1\nkind: Policy\nmetadata: {name: a}\nspec: on\n") ==
          std::vector<std::string>{"p.yaml:4:7: error: expected a mapping, found a scalar"});
}

TEST_CASE("invalid enum and boolean values", "[policy][parser]")
{
    CHECK(errors_of(header() + "  protectedFiles:\n    - path: /etc/shadow\n      deny: read\n") ==
          std::vector<std::string>{"p.yaml:8:13: error: invalid value \"read\" for deny; expected one of: write, all"});
    CHECK(errors_of(header() + "  mode: enforcing\n  killOnOpen: [{path: /a}]\n") ==
          std::vector<std::string>{
              "p.yaml:6:9: error: invalid value \"enforcing\" for mode; expected one of: enforce, audit"});
    CHECK(errors_of(header() + "  protectedFiles:\n    - path: /etc/shadow\n      recursive: yes\n") ==
          std::vector<std::string>{
              "p.yaml:8:18: error: invalid value \"yes\" for recursive; expected true or false"});
    CHECK(errors_of("apiVersion: bulwark/v2\nkind: Policy\nmetadata: {name: a}\nspec: {killOnOpen: [{path: /a}]}\n") ==
          std::vector<std::string>{
              "p.yaml:1:13: error: invalid value \"bulwark/v2\" for apiVersion; expected bulwark/v1"});
    CHECK(errors_of("apiVersion: bulwark/v1\nkind: Policies\nmetadata: {name: a}\nspec: {killOnOpen: [{path: /a}]}\n") ==
          std::vector<std::string>{"p.yaml:2:7: error: invalid value \"Policies\" for kind; expected Policy"});
}

TEST_CASE("globs in paths are errors that say what to write instead", "[policy][parser]")
{
    const std::string tail = " has a glob character (*, ? or [); globs are not supported: list each path, or name "
                             "the directory they are in (recursive: true; in execAllowlist a trailing /)";
    CHECK(errors_of(header() + "  protectedFiles:\n    - path: /home/*/.ssh/id_*\n") ==
          std::vector<std::string>{"p.yaml:7:13: error: path \"/home/*/.ssh/id_*\"" + tail});
    CHECK(errors_of(header() + "  execAllowlist: [/usr/bin/python3.?]\n") ==
          std::vector<std::string>{"p.yaml:6:19: error: path \"/usr/bin/python3.?\"" + tail});
    CHECK(errors_of(header() + "  killOnOpen:\n    - path: /srv/[ab]\n") ==
          std::vector<std::string>{"p.yaml:7:13: error: path \"/srv/[ab]\"" + tail});
}

TEST_CASE("paths must be absolute", "[policy][parser]")
{
    CHECK(errors_of(header() + "  protectedFiles:\n    - path: etc/shadow\n") ==
          std::vector<std::string>{"p.yaml:7:13: error: path \"etc/shadow\" is not absolute"});
    CHECK(errors_of(header() + "  killOnOpen:\n    - path: \"\"\n") ==
          std::vector<std::string>{"p.yaml:7:13: error: path \"\" is not absolute"});
    CHECK(errors_of(header() + "  execAllowlist: [true]\n") ==
          std::vector<std::string>{"p.yaml:6:19: error: path \"true\" is not absolute"});
    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  scope:\n    cgroups: [sys/fs/cgroup]\n") ==
          std::vector<std::string>{"p.yaml:8:15: error: path \"sys/fs/cgroup\" is not absolute"});
    CHECK(errors_of(header() + "  killOnOpen:\n    - path: \"/a\\0b\"\n") ==
          std::vector<std::string>{"p.yaml:7:13: error: path \"/a\\x00b\" contains a NUL byte"});
}

TEST_CASE("directory rules: recursive and a trailing '/' are read as written", "[policy][parser][dirs]")
{
    const auto r = parse(header() + R"(  protectedFiles:
    - path: /srv/secrets/
      recursive: true
      deny: all
    - path: /srv/docs
      recursive: TRUE
      deny: write
  killOnOpen:
    - path: /srv/trap
      recursive: true
    - path: /tmp/canary
      recursive: false
  execAllowlist:
    - /usr/bin/
    - /usr/sbin/nginx
)");
    REQUIRE(r.diagnostics.empty());
    REQUIRE(r.policies.size() == 1);
    const Policy& p = r.policies[0];
    REQUIRE(p.protected_files.size() == 2);
    CHECK(p.protected_files[0].path == "/srv/secrets/");
    CHECK(p.protected_files[0].recursive);
    CHECK(p.protected_files[1].path == "/srv/docs");
    CHECK(p.protected_files[1].recursive);
    REQUIRE(p.kill_on_open.size() == 2);
    CHECK(p.kill_on_open[0].path == "/srv/trap");
    CHECK(p.kill_on_open[0].recursive);
    CHECK(p.kill_on_open[0].loc.line == 14);
    CHECK(p.kill_on_open[0].loc.column == 13);
    CHECK_FALSE(p.kill_on_open[1].recursive);
    REQUIRE(p.exec_allowlist.has_value());
    CHECK((*p.exec_allowlist)[0].path == "/usr/bin/");

    CHECK(errors_of(header() + "  killOnOpen:\n    - path: /srv/trap\n      recursive: on\n") ==
          std::vector<std::string>{"p.yaml:8:18: error: invalid value \"on\" for recursive; expected true or false"});
    CHECK(errors_of(header() + "  killOnOpen:\n    - path: /srv/trap\n      recursive: [true]\n") ==
          std::vector<std::string>{"p.yaml:8:18: error: expected true or false, found a sequence"});
    CHECK(errors_of(header() + "  protectedFiles:\n    - path: /srv/trap\n      recursive:\n") ==
          std::vector<std::string>{"p.yaml:8:7: error: expected true or false, found null"});
}

TEST_CASE("empty lists are errors", "[policy][parser]")
{
    CHECK(errors_of(header() + "  execAllowlist: []\n") ==
          std::vector<std::string>{"p.yaml:6:18: error: execAllowlist is empty; an empty allowlist would deny every "
                                   "exec (remove the key to allow all)"});
    CHECK(errors_of(header() + "  protectedFiles: []\n") ==
          std::vector<std::string>{"p.yaml:6:19: error: protectedFiles is empty; remove the key or add entries"});
    CHECK(errors_of(header() + "  killOnOpen: []\n") ==
          std::vector<std::string>{"p.yaml:6:15: error: killOnOpen is empty; remove the key or add entries"});
    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  scope:\n    units: []\n") ==
          std::vector<std::string>{"p.yaml:8:12: error: units is empty; remove the key or add entries"});
    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  scope:\n    cgroups: []\n") ==
          std::vector<std::string>{"p.yaml:8:14: error: cgroups is empty; remove the key or add entries"});
    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  scope: []\n") ==
          std::vector<std::string>{"p.yaml:7:10: error: expected a mapping, found a sequence"});
}

TEST_CASE("missing required keys are reported at the enclosing mapping", "[policy][parser]")
{
    CHECK(errors_of("kind: Policy\nmetadata: {name: a}\nspec: {killOnOpen: [{path: /a}]}\n") ==
          std::vector<std::string>{"p.yaml:1:1: error: missing required key \"apiVersion\" in policy document"});
    CHECK(errors_of("apiVersion: bulwark/v1\nkind: Policy\nspec: {killOnOpen: [{path: /a}]}\n") ==
          std::vector<std::string>{"p.yaml:1:1: error: missing required key \"metadata\" in policy document"});
    CHECK(errors_of("apiVersion: bulwark/v1\nkind: Policy\nmetadata:\n  nam: a\nspec: {killOnOpen: [{path: /a}]}\n") ==
          std::vector<std::string>{
              "p.yaml:4:3: error: unknown key \"nam\" in metadata; expected name",
              "p.yaml:4:3: error: missing required key \"name\" in metadata",
          });
    CHECK(errors_of("apiVersion: bulwark/v1\nmetadata: {name: a}\n") ==
          std::vector<std::string>{
              "p.yaml:1:1: error: missing required key \"kind\" in policy document",
              "p.yaml:1:1: error: missing required key \"spec\" in policy document",
          });
    CHECK(errors_of(header() + "  killOnOpen:\n    - {}\n") ==
          std::vector<std::string>{"p.yaml:7:7: error: missing required key \"path\" in killOnOpen entry"});
}

TEST_CASE("a spec without rules is an error", "[policy][parser]")
{
    CHECK(errors_of(header() + "  mode: audit\n") ==
          std::vector<std::string>{
              "p.yaml:6:3: error: spec has no rules; expected one of: protectedFiles, killOnOpen, execAllowlist"});
    CHECK(errors_of("apiVersion: bulwark/v1\nkind: Policy\nmetadata: {name: a}\nspec: {}\n") ==
          std::vector<std::string>{
              "p.yaml:4:7: error: spec has no rules; expected one of: protectedFiles, killOnOpen, execAllowlist"});
}

TEST_CASE("policy names", "[policy][parser]")
{
    CHECK(errors_of(header("web-1.prod") + "  killOnOpen: [{path: /a}]\n").empty());
    CHECK(errors_of(header("a") + "  killOnOpen: [{path: /a}]\n").empty());
    CHECK(errors_of(header(std::string(63, 'x')) + "  killOnOpen: [{path: /a}]\n").empty());
    CHECK(errors_of(header(std::string(64, 'x')) + "  killOnOpen: [{path: /a}]\n") ==
          std::vector<std::string>{"p.yaml:4:9: error: policy name \"" + std::string(64, 'x') +
                                   "\" is longer than 63 characters"});
    const std::string rule =
        "; use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
    CHECK(errors_of(header("Protect") + "  killOnOpen: [{path: /a}]\n") ==
          std::vector<std::string>{"p.yaml:4:9: error: invalid policy name \"Protect\"" + rule});
    CHECK(errors_of(header("a_b") + "  killOnOpen: [{path: /a}]\n") ==
          std::vector<std::string>{"p.yaml:4:9: error: invalid policy name \"a_b\"" + rule});
    CHECK(errors_of(header("-a") + "  killOnOpen: [{path: /a}]\n") ==
          std::vector<std::string>{"p.yaml:4:9: error: invalid policy name \"-a\"" + rule});
    CHECK(errors_of(header("a.") + "  killOnOpen: [{path: /a}]\n") ==
          std::vector<std::string>{"p.yaml:4:9: error: invalid policy name \"a.\"" + rule});
    CHECK(errors_of(header("\"\"") + "  killOnOpen: [{path: /a}]\n") ==
          std::vector<std::string>{"p.yaml:4:9: error: invalid policy name \"\"" + rule});
}

TEST_CASE("scope units and cgroups", "[policy][parser]")
{
    const auto r = parse(header() + "  killOnOpen: [{path: /a}]\n  scope:\n    units: [nginx.service, "
                                    "\"getty@tty1.service\", system.slice]\n");
    REQUIRE(r.ok());
    CHECK(r.policies[0].scope->units ==
          std::vector<std::string>{"nginx.service", "getty@tty1.service", "system.slice"});
    CHECK(r.policies[0].scope->cgroups.empty());

    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  scope:\n    units: [nginx, a/b.service]\n") ==
          std::vector<std::string>{
              "p.yaml:8:13: error: invalid unit name \"nginx\"; expected a systemd unit name such as nginx.service",
              "p.yaml:8:20: error: invalid unit name \"a/b.service\"; expected a systemd unit name such as "
              "nginx.service",
          });
    CHECK(errors_of(header() + "  killOnOpen: [{path: /a}]\n  scope: {}\n") ==
          std::vector<std::string>{"p.yaml:7:10: error: scope has neither units nor cgroups; remove scope to apply "
                                   "the policy to the whole host"});
}

TEST_CASE("every error of a file is reported in one run", "[policy][parser]")
{
    const auto r = parse(R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: Bad_Name
spec:
  mode: enforc
  protectedFiles:
    - pathh: /etc/shadow
    - path: etc/shadow
      deny: read
  execAllowlist: []
---
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: fine
spec:
  killOnOpen: [{path: /tmp/x}]
---
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: other
spec:
  killOnOpen: [{path: tmp/x}]
)");
    CHECK(lines(r.diagnostics) ==
          std::vector<std::string>{
              "p.yaml:4:9: error: invalid policy name \"Bad_Name\"; use lowercase letters, digits, '-' and '.', "
              "starting and ending with a letter or digit",
              "p.yaml:6:9: error: invalid value \"enforc\" for mode; expected one of: enforce, audit",
              "p.yaml:8:7: error: unknown key \"pathh\" in protectedFiles entry; expected one of: path, deny, recursive",
              "p.yaml:8:7: error: missing required key \"path\" in protectedFiles entry",
              "p.yaml:9:13: error: path \"etc/shadow\" is not absolute",
              "p.yaml:10:13: error: invalid value \"read\" for deny; expected one of: write, all",
              "p.yaml:11:18: error: execAllowlist is empty; an empty allowlist would deny every exec (remove the key "
              "to allow all)",
              "p.yaml:25:23: error: path \"tmp/x\" is not absolute",
          });
    // Only the document without errors is returned.
    REQUIRE(r.policies.size() == 1);
    CHECK(r.policies[0].name == "fine");
}

TEST_CASE("duplicate policy names within a file", "[policy][parser]")
{
    const auto r = parse(header("dup") + "  killOnOpen: [{path: /a}]\n---\n" + header("dup") +
                         "  killOnOpen: [{path: /b}]\n");
    CHECK(lines(r.diagnostics) ==
          std::vector<std::string>{"p.yaml:11:9: error: duplicate policy name \"dup\"; first defined at p.yaml:4:9"});
    REQUIRE(r.policies.size() == 1);
    CHECK(r.policies[0].kill_on_open[0].path == "/a");
}

TEST_CASE("anchors and aliases", "[policy][parser]")
{
    const auto r = parse(header() + "  protectedFiles:\n    - &e {path: /etc/shadow, deny: write}\n    - *e\n");
    REQUIRE(r.ok());
    REQUIRE(r.policies[0].protected_files.size() == 2);
    CHECK(r.policies[0].protected_files[1].path == "/etc/shadow");
    CHECK(r.policies[0].protected_files[1].deny == DenyKind::write);

    CHECK(errors_of("a: &x [*x]\n") ==
          std::vector<std::string>{"p.yaml:1:8: error: alias refers to a node that contains it (recursive alias)"});
    CHECK(errors_of("a: *x\n") ==
          std::vector<std::string>{"p.yaml:1:4: error: alias to an unknown anchor"});
}

TEST_CASE("Diagnostic::to_string", "[policy][diagnostics]")
{
    CHECK(Diagnostic{Severity::error, {"f.yaml", 3, 7}, "boom"}.to_string() == "f.yaml:3:7: error: boom");
    CHECK(Diagnostic{Severity::warning, {"f.yaml", 3, 7}, "hm"}.to_string() == "f.yaml:3:7: warning: hm");
    CHECK(Diagnostic{Severity::error, {"f.yaml", 0, 0}, "whole"}.to_string() == "f.yaml: error: whole");
    CHECK_FALSE(has_errors({Diagnostic{Severity::warning, {}, "w"}}));
    CHECK(has_errors({Diagnostic{Severity::warning, {}, "w"}, Diagnostic{Severity::error, {}, "e"}}));
    CHECK(to_string(RuleKind::protect_write) == "protectedFiles(write)");
    CHECK(to_string(RuleKind::protect_all) == "protectedFiles(all)");
    CHECK(to_string(RuleKind::kill_on_open) == "killOnOpen");
    CHECK(to_string(RuleKind::exec_allowlist) == "execAllowlist");
    CHECK(to_string(PolicyMode::enforce) == "enforce");
    CHECK(to_string(PolicyMode::audit) == "audit");
}

// ------------------------------------------------------------------ limits

TEST_CASE("nesting is limited to 64 levels while reading", "[policy][parser][limits]")
{
    // The document's mapping is level 1; 63 more sequences make 64.
    const auto ok = errors_of("a: " + std::string(63, '[') + std::string(63, ']') + "\n");
    CHECK(std::none_of(ok.begin(), ok.end(), [](const std::string& s) { return s.find("nesting") != s.npos; }));
    CHECK(errors_of("a: " + std::string(64, '[') + std::string(64, ']') + "\n") ==
          std::vector<std::string>{"p.yaml:1:67: error: nesting deeper than 64 levels"});
    // Far deeper input is stopped at the same place.
    CHECK(errors_of("a: " + std::string(100000, '[') + std::string(100000, ']') + "\n") ==
          std::vector<std::string>{"p.yaml:1:67: error: nesting deeper than 64 levels"});
}

TEST_CASE("lists are limited to 1,000,000 entries", "[policy][parser][limits]")
{
    std::string big = header() + "  execAllowlist: [/a";
    for (int i = 0; i < 1'000'000; ++i)
        big += ",/a";
    big += "]\n";
    const auto r = parse(big);
    CHECK(lines(r.diagnostics) == std::vector<std::string>{"p.yaml:6:18: error: list has more than 1000000 entries"});
    CHECK(r.policies.empty());
}

TEST_CASE("input larger than 16 MiB is refused", "[policy][parser][limits]")
{
    const std::string huge(16u * 1024u * 1024u + 1u, '#');
    CHECK(lines(parse(huge).diagnostics) ==
          std::vector<std::string>{"p.yaml: error: file is larger than 16 MiB; refusing to read it"});

    TempDir dir;
    const std::string path = dir.write("huge.yaml", huge);
    CHECK(lines(parse_policy_file(path).diagnostics) ==
          std::vector<std::string>{path + ": error: file is larger than 16 MiB; refusing to read it"});

    // Exactly 16 MiB is read (a comment: no documents).
    const auto r = parse(std::string(16u * 1024u * 1024u, '#'));
    CHECK(r.ok());
}

TEST_CASE("error reporting stops after 100 errors in a file", "[policy][parser][limits]")
{
    std::string text = header() + "  protectedFiles:\n";
    for (int i = 0; i < 150; ++i)
        text += "    - path: rel\n";
    const auto d = lines(parse(text).diagnostics);
    REQUIRE(d.size() == 101);
    CHECK(d[0] == "p.yaml:7:13: error: path \"rel\" is not absolute");
    CHECK(d[99] == "p.yaml:106:13: error: path \"rel\" is not absolute");
    CHECK(d[100] == "p.yaml: error: too many errors (100); stopped checking this file");
}

// ------------------------------------------------------------- files, dirs

TEST_CASE("parse_policy_file reads a file from disk", "[policy][parser][files]")
{
    TempDir dir;
    const std::string path = dir.write("a.yaml", header("from-disk") + "  killOnOpen:\n    - path: rel\n");
    const auto r = parse_policy_file(path);
    CHECK(lines(r.diagnostics) == std::vector<std::string>{path + ":7:13: error: path \"rel\" is not absolute"});

    CHECK(lines(parse_policy_file(dir / "missing.yaml").diagnostics) ==
          std::vector<std::string>{dir / "missing.yaml" + ": error: cannot open file: No such file or directory"});
}

TEST_CASE("parse_policy_paths: directories give their *.yaml and *.yml files in name order", "[policy][parser][files]")
{
    TempDir dir;
    dir.write("pol/b.yaml", header("bee") + "  killOnOpen: [{path: /b}]\n");
    dir.write("pol/a.yml", header("ay") + "  killOnOpen: [{path: /a}]\n");
    dir.write("pol/c.txt", "not: yaml: at all: [\n");
    dir.write("pol/.hidden.yaml", "not: yaml: at all: [\n");
    dir.write("pol/sub/d.yaml", "not: yaml: at all: [\n");  // not recursive
    dir.write("single.yaml", header("single") + "  killOnOpen: [{path: /s}]\n");

    const auto r = parse_policy_paths({dir / "single.yaml", dir / "pol"});
    CHECK(r.diagnostics.empty());
    REQUIRE(r.policies.size() == 3);
    CHECK(r.policies[0].name == "single");
    CHECK(r.policies[1].name == "ay");
    CHECK(r.policies[1].loc.file == dir / "pol/a.yml");
    CHECK(r.policies[2].name == "bee");
}

TEST_CASE("parse_policy_paths: duplicate names across files name the first location", "[policy][parser][files]")
{
    TempDir dir;
    const std::string a = dir.write("a.yaml", header("shared") + "  killOnOpen: [{path: /a}]\n");
    const std::string b = dir.write("b.yaml", "# second\n" + header("shared") + "  killOnOpen: [{path: /b}]\n");
    const auto r = parse_policy_paths({dir.path()});
    CHECK(lines(r.diagnostics) ==
          std::vector<std::string>{b + ":5:9: error: duplicate policy name \"shared\"; first defined at " + a + ":4:9"});
    REQUIRE(r.policies.size() == 1);
    CHECK(r.policies[0].loc.file == a);
}

TEST_CASE("parse_policy_paths: missing inputs and empty directories", "[policy][parser][files]")
{
    TempDir dir;
    dir.mkdir("empty");
    const auto r = parse_policy_paths({dir / "nope", dir / "empty"});
    CHECK(lines(r.diagnostics) == std::vector<std::string>{
                                      dir / "nope" + ": error: cannot access: No such file or directory",
                                      dir / "empty" + ": warning: directory holds no *.yaml or *.yml files",
                                  });
}
