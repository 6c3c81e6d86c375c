// The daemon's settings file.
#include <catch2/catch.hpp>

#include "daemon/break_glass.h"
#include "daemon/config.h"

using namespace bulwark;

TEST_CASE("an empty settings file means the defaults") {
    auto r = parse_config_text("", "bulwark.yaml");
    REQUIRE(r.ok());
    CHECK(r.config.policy_dir == "/etc/bulwark/policies.d");
    CHECK(r.config.audit_log == "/var/log/bulwark/audit.jsonl");
    CHECK(r.config.journal);
    CHECK(r.config.mode == ModeSetting::automatic);
}

TEST_CASE("every key is read") {
    auto r = parse_config_text("policyDir: /p\nauditLog: /a.jsonl\njournal: false\nmode: lsm\nringBufferKiB: 64\n",
                               "bulwark.yaml");
    REQUIRE(r.ok());
    CHECK(r.config.policy_dir == "/p");
    CHECK(r.config.audit_log == "/a.jsonl");
    CHECK_FALSE(r.config.journal);
    CHECK(r.config.mode == ModeSetting::lsm);
    CHECK(r.config.ring_buffer_kib == 64);
}

TEST_CASE("bad settings name file, line and column") {
    auto r = parse_config_text("mode: strict\npolicyDirr: /x\nringBufferKiB: 100\n", "/etc/bulwark/bulwark.yaml");
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.diagnostics.size() == 3);
    CHECK(r.diagnostics[0].to_string() ==
          "/etc/bulwark/bulwark.yaml:1:7: error: invalid value \"strict\" for mode; expected one of: auto, lsm, "
          "tracepoint");
    CHECK(r.diagnostics[1].to_string() ==
          "/etc/bulwark/bulwark.yaml:2:1: error: unknown key \"policyDirr\"; expected one of: policyDir, auditLog, "
          "journal, mode, ringBufferKiB, auditFlush, journalCoalesceMs, controlSocket, "
          "pinDir, tracepointProtectedFiles, selfProtection, trustedInstallers");
    CHECK(r.diagnostics[2].to_string() ==
          "/etc/bulwark/bulwark.yaml:3:16: error: ringBufferKiB must be a power of two between 4 and 1048576");
}

TEST_CASE("a key given twice is an error at the second, naming the first; the first value stays") {
    auto r = parse_config_text("policyDir: /first\nmode: lsm\npolicyDir: /second\n", "bulwark.yaml");
    CHECK_FALSE(r.ok());
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].to_string() ==
          "bulwark.yaml:3:1: error: duplicate key \"policyDir\"; first given at line 1");
    CHECK(r.config.policy_dir == "/first");
}

TEST_CASE("a YAML syntax error is reported with its position") {
    auto r = parse_config_text("mode: [lsm\n", "b.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.diagnostics[0].loc.line >= 1);
    CHECK(r.diagnostics[0].to_string().rfind("b.yaml:", 0) == 0);
}

TEST_CASE("selfProtection: on unless set to false, and nothing but a boolean") {
    CHECK(parse_config_text("", "bulwark.yaml").config.self_protection);
    auto off = parse_config_text("selfProtection: false\n", "bulwark.yaml");
    REQUIRE(off.ok());
    CHECK_FALSE(off.config.self_protection);
    auto bad = parse_config_text("selfProtection: maybe\n", "bulwark.yaml");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.diagnostics[0].to_string() == "bulwark.yaml:1:17: error: expected true or false for selfProtection");
}

TEST_CASE("trustedInstallers: dpkg unless set, a list of absolute paths, may be empty") {
    CHECK(parse_config_text("", "bulwark.yaml").config.trusted_installers == std::vector<std::string>{"/usr/bin/dpkg"});
    auto two = parse_config_text("trustedInstallers: [/usr/bin/dpkg, /usr/local/bin/installer]\n", "bulwark.yaml");
    REQUIRE(two.ok());
    CHECK(two.config.trusted_installers == std::vector<std::string>{"/usr/bin/dpkg", "/usr/local/bin/installer"});
    auto none = parse_config_text("trustedInstallers: []\n", "bulwark.yaml");
    REQUIRE(none.ok());
    CHECK(none.config.trusted_installers.empty());
    auto relative = parse_config_text("trustedInstallers:\n  - dpkg\n", "bulwark.yaml");
    REQUIRE_FALSE(relative.ok());
    CHECK(relative.diagnostics[0].to_string() ==
          "bulwark.yaml:2:5: error: a trusted installer must be an absolute path to a program");
    auto scalar = parse_config_text("trustedInstallers: /usr/bin/dpkg\n", "bulwark.yaml");
    REQUIRE_FALSE(scalar.ok());
    CHECK(scalar.diagnostics[0].to_string() ==
          "bulwark.yaml:1:20: error: trustedInstallers must be a list of absolute paths (default [/usr/bin/dpkg])");
}

TEST_CASE("pinDir: where enforcement is pinned, an absolute path") {
    auto d = parse_config_text("", "bulwark.yaml");
    CHECK(d.config.pin_dir == "/sys/fs/bpf/bulwark");
    auto r = parse_config_text("pinDir: /sys/fs/bpf/other\n", "bulwark.yaml");
    REQUIRE(r.ok());
    CHECK(r.config.pin_dir == "/sys/fs/bpf/other");
    auto bad = parse_config_text("pinDir: relative\n", "bulwark.yaml");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.diagnostics[0].to_string().find("bulwark.yaml:1:9: error: pinDir must be an absolute path") == 0);
}

TEST_CASE("break-glass: bulwark.disable=1 counts as a word of the kernel command line, nothing else does") {
    CHECK(bulwark::break_glass_in("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro bulwark.disable=1 quiet\n"));
    CHECK(bulwark::break_glass_in("bulwark.disable=1"));
    CHECK(bulwark::break_glass_in("ro\tbulwark.disable=1\n"));
    CHECK_FALSE(bulwark::break_glass_in("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n"));
    CHECK_FALSE(bulwark::break_glass_in("bulwark.disable=0"));
    CHECK_FALSE(bulwark::break_glass_in("bulwark.disable=10 xbulwark.disable=1 bulwark.disable"));
    CHECK_FALSE(bulwark::break_glass_in(""));
}
