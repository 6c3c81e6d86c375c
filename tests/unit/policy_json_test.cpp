// Unit tests for to_json (bulwarkctl check --json): the key names and shapes
// documented in docs/policy.md, on a real compiled policy.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "test_util.h"

using namespace bulwark::policy;
using bulwark::test::identity_of;
using bulwark::test::TempDir;
using bulwark::test::with_dir;
using nlohmann::json;
using ordered = nlohmann::ordered_json;

namespace {

// Key order is part of the output's stability: read it in document order.
std::vector<std::string> keys(const ordered& j)
{
    std::vector<std::string> out;
    for (auto it = j.begin(); it != j.end(); ++it)
        out.push_back(it.key());
    return out;
}

}  // namespace

TEST_CASE("to_json: every part of the compiled policy, with stable keys", "[policy][json]")
{
    TempDir dir;
    const std::string f = dir.write("f", "f");
    const std::string d = dir.mkdir("d");
    const std::string bin = dir.mkdir("bin");
    const std::string tool = dir.write("tool", "t");
    const std::string unit = dir.mkdir("cg/app.service");
    const std::string text = with_dir(R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: host
spec:
  protectedFiles:
    - path: {dir}/f
      deny: write
    - path: {dir}/d/
      recursive: true
  killOnOpen:
    - path: {dir}/missing
---
apiVersion: bulwark/v1
kind: Policy
metadata:
  name: app
spec:
  mode: audit
  scope:
    units: [app.service, gone.service]
  killOnOpen:
    - path: {dir}/f
  execAllowlist:
    - {dir}/bin/
    - {dir}/tool
    - {dir}/nope
)",
                                      dir.path());
    const ParseResult parsed = parse_policy_text(text, "j.yaml");
    REQUIRE(parsed.ok());
    CompileOptions opts;
    opts.cgroup2_root = dir / "cg";
    const CompiledPolicy cp = compile(parsed.policies, opts);
    REQUIRE(cp.ok());

    const std::string text_out = to_json(cp, cp.diagnostics);
    const ordered o = ordered::parse(text_out);
    const json j = json::parse(text_out);
    CHECK(keys(o) == std::vector<std::string>{"version", "valid", "errors", "warnings", "policies", "rules", "files",
                                              "paths", "scopes", "allowlists", "allowlist_overlaps", "diagnostics"});
    CHECK(j["version"] == 1);
    CHECK(j["valid"] == true);
    CHECK(j["errors"] == 0);
    CHECK(j["warnings"] == cp.diagnostics.size());

    REQUIRE(j["policies"].size() == 2);
    CHECK(j["policies"][0] ==
          json::parse(R"({"name": "host", "mode": "enforce", "scope": 0, "file": "j.yaml", "line": 1, "column": 1,
                          "rules": [0, 1, 2]})"));
    CHECK(j["policies"][1]["name"] == "app");
    CHECK(j["policies"][1]["mode"] == "audit");
    CHECK(j["policies"][1]["scope"] == 1);
    CHECK(j["policies"][1]["rules"] == json::array({3, 4}));

    const FileIdentity fid = identity_of(f);
    const json fident = {{"dev", format_kernel_dev(fid.dev)}, {"kdev", fid.dev}, {"ino", fid.ino}};
    REQUIRE(j["rules"].size() == 5);
    const json& r0 = j["rules"][0];
    CHECK(keys(o["rules"][0]) == std::vector<std::string>{"id", "policy", "kind", "mode", "scope", "path", "file", "line",
                                               "column", "status", "resolved_path", "identity", "directory",
                                               "shadowed_by", "outranked_by", "bound_to_path"});
    CHECK(r0["id"] == 0);
    CHECK(r0["policy"] == "host");
    CHECK(r0["kind"] == "protectedFiles(write)");
    CHECK(r0["mode"] == "enforce");
    CHECK(r0["scope"] == 0);
    CHECK(r0["path"] == f);
    CHECK(r0["line"] == 7);
    CHECK(r0["column"] == 13);
    CHECK(r0["status"] == "enforced");
    CHECK(r0["resolved_path"] == f);
    CHECK(r0["identity"] == fident);
    CHECK(r0["directory"] == false);
    CHECK(r0["shadowed_by"] == nullptr);
    CHECK(r0["outranked_by"] == nullptr);

    const json& r1 = j["rules"][1];
    CHECK(r1["path"] == d + "/");
    CHECK(r1["resolved_path"] == d);
    CHECK(r1["directory"] == true);
    CHECK(r1["status"] == "enforced");

    const json& r2 = j["rules"][2];
    CHECK(r2["status"] == "bound_to_path");  // not there yet; its directory is
    CHECK(r2["bound_to_path"] == true);
    CHECK(r2["identity"] == nullptr);
    CHECK(r2["resolved_path"] == nullptr);

    const json& r3 = j["rules"][3];  // app's kill on f: loses to host's enforcing rule
    CHECK(r3["kind"] == "killOnOpen");
    CHECK(r3["mode"] == "audit");
    CHECK(r3["scope"] == 1);
    CHECK(r3["status"] == "shadowed");
    CHECK(r3["shadowed_by"] == 0);
    CHECK(r3["identity"] == fident);

    const json& r4 = j["rules"][4];
    CHECK(keys(o["rules"][4]) == std::vector<std::string>{"id", "policy", "kind", "mode", "scope", "path", "file", "line",
                                               "column", "status", "allowlist"});
    CHECK(r4["kind"] == "execAllowlist");
    CHECK(r4["status"] == "enforced");
    CHECK(r4["allowlist"] == 0);

    REQUIRE(j["files"].size() == 2);
    json file0 = fident;
    file0.update(json{{"path", f},     {"directory", false}, {"kind", "protectedFiles(write)"}, {"mode", "enforce"},
                      {"scope", 0},    {"rule", 0},          {"policy", "host"}});
    CHECK(j["files"][0] == file0);
    CHECK(keys(o["files"][0]) == std::vector<std::string>{"dev", "kdev", "ino", "path", "directory", "kind", "mode",
                                                          "scope", "rule", "policy"});
    CHECK(j["files"][1]["directory"] == true);
    CHECK(j["files"][1]["path"] == d);
    CHECK(j["files"][1]["kind"] == "protectedFiles(all)");

    REQUIRE(j["scopes"].size() == 1);
    CHECK(j["scopes"][0] == json{{"bit", 1},
                                 {"policy", "app"},
                                 {"spec", {{"units", {"app.service", "gone.service"}}, {"cgroups", json::array()}}},
                                 {"cgroups", {{{"id", identity_of(unit).ino}, {"path", unit}}}},
                                 {"unresolved", {"unit gone.service"}}});

    REQUIRE(j["allowlists"].size() == 1);
    const json& al = j["allowlists"][0];
    CHECK(keys(o["allowlists"][0]) == std::vector<std::string>{"index", "rule", "policy", "mode", "scope", "entries", "missing"});
    CHECK(al["index"] == 0);
    CHECK(al["rule"] == 4);
    CHECK(al["policy"] == "app");
    CHECK(al["mode"] == "audit");
    CHECK(al["scope"] == 1);
    REQUIRE(al["entries"].size() == 2);
    CHECK(al["entries"][0]["path"] == bin);
    CHECK(al["entries"][0]["directory"] == true);
    CHECK(al["entries"][0]["ino"] == identity_of(bin).ino);
    CHECK(al["entries"][1]["path"] == tool);
    CHECK(al["entries"][1]["directory"] == false);
    CHECK(al["missing"] == json::array({dir / "nope"}));
    CHECK(j["allowlist_overlaps"] == json::array());

    REQUIRE(j["diagnostics"].size() == cp.diagnostics.size());
    CHECK(keys(o["diagnostics"][0]) ==
          std::vector<std::string>{"severity", "file", "line", "column", "message"});
    CHECK(j["diagnostics"][0]["severity"] == "warning");
    CHECK(j["diagnostics"][0]["file"] == "j.yaml");
    CHECK(j["diagnostics"][0]["message"] == cp.diagnostics[0].message);
}

TEST_CASE("to_json: invalid input, errors, and bytes that are not UTF-8", "[policy][json]")
{
    // YAML is UTF-8: a byte that is not is a syntax error where it stands.
    const ParseResult parsed = parse_policy_text(
        "apiVersion: bulwark/v1\nkind: Policy\nmetadata: {name: a}\nspec:\n  killOnOpen: [{path: rel\xff}]\n",
        "bad.yaml");
    REQUIRE_FALSE(parsed.ok());
    const CompiledPolicy cp = compile(parsed.policies);
    const json j = json::parse(to_json(cp, parsed.diagnostics));
    CHECK(j["valid"] == false);
    CHECK(j["errors"] == 1);
    CHECK(j["policies"] == json::array());
    CHECK(j["rules"] == json::array());
    REQUIRE(j["diagnostics"].size() == 1);
    CHECK(j["diagnostics"][0] == json{{"severity", "error"},
                                      {"file", "bad.yaml"},
                                      {"line", 5},
                                      {"column", 26},
                                      {"message", "YAML syntax error: invalid leading UTF-8 octet"}});
    // A message holding such bytes (a file name, say) still makes valid JSON.
    const Diagnostic odd{Severity::error, Location{"bad\xff.yaml", 1, 1}, "path \"rel\xff\" is not absolute"};
    const json k = json::parse(to_json(CompiledPolicy{}, {odd}));
    CHECK(k["diagnostics"][0]["file"] == "bad\xef\xbf\xbd.yaml");
    CHECK(k["diagnostics"][0]["message"] == "path \"rel\xef\xbf\xbd\" is not absolute");
    // One line with indent < 0.
    const std::string line = to_json(CompiledPolicy{}, {}, -1);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(json::parse(line)["valid"] == true);
}
