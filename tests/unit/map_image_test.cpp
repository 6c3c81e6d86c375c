// The generation image builder (daemon/map_image.h) and the one precedence
// definition (bw_rule_strength): what the kernel's maps will hold for a
// compiled policy, checked entry by entry.
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "bulwark_abi.h"
#include "daemon/map_image.h"

using namespace bulwark;
using policy::RuleKind;

namespace {

policy::FileEntry entry(uint64_t dev, uint64_t ino, RuleKind kind, uint32_t rule, uint32_t scope = 0,
                        bool audit = false, bool dir = false) {
    policy::FileEntry e;
    e.id = {dev, ino};
    e.kind = kind;
    e.rule_id = rule;
    e.scope = scope;
    e.audit = audit;
    e.directory = dir;
    return e;
}

bool filter_has(const MapImage& img, uint64_t dev, uint64_t ino) {
    const uint32_t bit = bw_dir_filter_bit(dev, ino);
    return (img.filter->words[bit / 64] >> (bit % 64)) & 1;
}

}  // namespace

TEST_CASE("an empty policy is a complete generation with nothing to match") {
    policy::CompiledPolicy c;
    auto img = build_map_image(c, 1);
    REQUIRE(img);
    CHECK(img->config.magic == BW_STATE_MAGIC);
    CHECK(img->config.generation == 1);
    CHECK(img->config.flags == 0);  // no BW_CFG_FILES: opens skip matching
    CHECK(img->config.n_allowlists == 0);
    CHECK(img->file_keys.empty());
    CHECK(img->exec_keys.empty());
    CHECK(img->scope_keys.empty());
    CHECK(std::all_of(std::begin(img->filter->words), std::end(img->filter->words), [](uint64_t w) { return w == 0; }));
}

TEST_CASE("generation 0 is refused: it means 'none' to the kernel") {
    policy::CompiledPolicy c;
    auto img = build_map_image(c, 0);
    REQUIRE_FALSE(img);
    CHECK(img.error().err == EINVAL);
}

TEST_CASE("file rules become entries with the kernel's action, scope and audit flag; directories set the filter") {
    policy::CompiledPolicy c;
    c.files.push_back(entry(0x800001, 10, RuleKind::protect_write, 0));
    c.files.push_back(entry(0x800001, 11, RuleKind::protect_all, 1, 3, true));
    c.files.push_back(entry(0x800001, 12, RuleKind::kill_on_open, 2, 0, false, true));
    auto img = build_map_image(c, 7);
    REQUIRE(img);
    REQUIRE(img->file_keys.size() == 3);
    REQUIRE(img->file_rules.size() == 3);
    CHECK(img->file_keys[0].dev == 0x800001);
    CHECK(img->file_keys[0].ino == 10);
    CHECK(img->file_rules[0].action == BW_ACT_DENY_WRITE);
    CHECK(img->file_rules[0].flags == 0);
    CHECK(img->file_rules[1].action == BW_ACT_DENY_ALL);
    CHECK(img->file_rules[1].scope == 3);
    CHECK(img->file_rules[1].flags == BW_RULE_AUDIT);
    CHECK(img->file_rules[1].rule_id == 1);
    CHECK(img->file_rules[2].action == BW_ACT_KILL);
    CHECK(img->config.flags == (BW_CFG_FILES | BW_CFG_FILE_DIRS | BW_CFG_UNPLACED));
    CHECK(filter_has(*img, 0x800001, 12));
    CHECK_FALSE(filter_has(*img, 0x800001, 10));  // a file, not a directory: no ancestor lookups for it
    CHECK(img->config.generation == 7);
}

TEST_CASE("paths bound by name: (directory, name hash, length) -> the rule; the directory joins the filter") {
    policy::CompiledPolicy c;
    c.names.push_back(policy::NameEntry{{5, 77}, "shadow", RuleKind::protect_all, 3, 2, true, "/etc/shadow"});
    c.names.push_back(policy::NameEntry{{5, 77}, "shadox", RuleKind::kill_on_open, 4, 0, false, "/etc/shadox"});
    auto img = build_map_image(c, 1);
    REQUIRE(img);
    REQUIRE(img->name_keys.size() == 2);
    CHECK(img->file_keys.empty());
    // Names alone are file rules to the kernel: opens are matched.
    CHECK((img->config.flags & BW_CFG_FILES) != 0);
    CHECK((img->config.flags & BW_CFG_FILE_NAMES) != 0);
    CHECK((img->config.flags & BW_CFG_FILE_DIRS) == 0);
    CHECK(filter_has(*img, 5, 77));
    const bw_name_key& k = img->name_keys[0];
    CHECK(k.dev == 5);
    CHECK(k.ino == 77);
    CHECK(k.len == 6);
    CHECK(k.hash == name_hash("shadow"));
    CHECK(img->name_keys[1].hash != k.hash);  // one byte apart
    CHECK(img->name_rules[0].action == BW_ACT_DENY_ALL);
    CHECK(img->name_rules[0].rule_id == 3);
    CHECK(img->name_rules[0].scope == 2);
    CHECK(img->name_rules[0].flags == BW_RULE_AUDIT);
    CHECK(img->name_rules[1].action == BW_ACT_KILL);
}

TEST_CASE("a file reached without its path gets the strongest directory or path rule of its scope and "
          "filesystem, never a kill") {
    policy::CompiledPolicy c;
    // Scope 0 on filesystem 0x700001: an enforcing kill directory beats an
    // audited deny-all path; scope 2 there: only an audited path; scope 0 on
    // another filesystem: its own directory.
    c.files.push_back(entry(0x800001, 12, RuleKind::kill_on_open, 5, 0, false, true));
    c.files.back().sb_dev = 0x700001;
    c.files.push_back(entry(0x800001, 13, RuleKind::protect_all, 6, 0, false, false));  // a file: not a candidate
    c.files.push_back(entry(0x900001, 14, RuleKind::protect_write, 9, 0, false, true));
    c.files.back().sb_dev = 0x900001;
    c.names.push_back(policy::NameEntry{{5, 77}, "shadow", RuleKind::protect_all, 7, 0, true, "/etc/shadow", 0x700001});
    c.names.push_back(
        policy::NameEntry{{5, 77}, "gshadow", RuleKind::protect_write, 8, 2, true, "/etc/gshadow", 0x700001});
    auto img = build_map_image(c, 1);
    REQUIRE(img);
    CHECK((img->config.flags & BW_CFG_UNPLACED) != 0);
    const bw_unplaced* u = img->config.unplaced;  // by (scope, superblock)
    CHECK(u[0].rule.scope == 0);
    CHECK(u[0].sb_dev == 0x700001);
    CHECK(u[0].rule.rule_id == 5);
    CHECK(u[0].rule.action == BW_ACT_DENY_ALL);  // capped: nobody is killed for a rule that may not be theirs
    CHECK(u[0].rule.flags == 0);
    CHECK(u[1].rule.scope == 0);
    CHECK(u[1].sb_dev == 0x900001);
    CHECK(u[1].rule.rule_id == 9);
    CHECK(u[1].rule.action == BW_ACT_DENY_WRITE);
    CHECK(u[2].rule.scope == 2);
    CHECK(u[2].rule.rule_id == 8);
    CHECK(u[2].rule.flags == BW_RULE_AUDIT);
    for (size_t i = 3; i < BW_UNPLACED_RULES; ++i) CHECK(u[i].rule.action == BW_ACT_NONE);

    // File rules alone: nothing to fall back on.
    policy::CompiledPolicy files_only;
    files_only.files.push_back(entry(0x800001, 13, RuleKind::protect_all, 6, 0, false, false));
    auto plain = build_map_image(files_only, 1);
    REQUIRE(plain);
    CHECK((plain->config.flags & BW_CFG_UNPLACED) == 0);
    CHECK(plain->config.unplaced[0].rule.action == BW_ACT_NONE);

    // More (scope, filesystem) pairs than entries: one entry for every task
    // and filesystem, the strongest of all.
    policy::CompiledPolicy many;
    for (uint32_t scope = 1; scope <= BW_UNPLACED_RULES + 1; ++scope)
        many.files.push_back(entry(0x800001, 100 + scope, scope == 3 ? RuleKind::protect_all : RuleKind::protect_write,
                                   scope, scope, false, true));
    auto wide = build_map_image(many, 1);
    REQUIRE(wide);
    CHECK(wide->config.unplaced[0].rule.scope == BW_SCOPE_HOST);
    CHECK(wide->config.unplaced[0].sb_dev == 0);
    CHECK(wide->config.unplaced[0].rule.rule_id == 3);
    CHECK(wide->config.unplaced[0].rule.action == BW_ACT_DENY_ALL);
    CHECK(wide->config.unplaced[1].rule.action == BW_ACT_NONE);
}

TEST_CASE("the name hash takes every byte and the length, 8 bytes at a time as the kernel reads them") {
    // The seed and mix are the ABI's; by hand for a name of one word and a bit.
    uint64_t word0 = 0, word1 = 0;
    std::memcpy(&word0, "abcdefgh", 8);
    std::memcpy(&word1, "i", 1);
    CHECK(name_hash("abcdefghi") == bw_name_mix(bw_name_mix(bw_name_mix(BW_NAME_HASH_SEED, word0), word1), 9));
    // A trailing NUL is not a shorter name's padding: the length tells them apart.
    CHECK(name_hash(std::string_view("ab\0", 3)) != name_hash("ab"));
    CHECK(name_hash("ab") != name_hash("ba"));
    const std::string longest(BW_NAME_MAX, 'x');
    CHECK(name_hash(longest) != name_hash(longest.substr(1)));
}

TEST_CASE("an identity in several allowlists gets all their bits; allowlist settings go to the config") {
    policy::CompiledPolicy c;
    policy::CompiledAllowlist a, b;
    a.index = 0;
    a.rule_id = 4;
    a.files = {{1, 100}, {1, 200}};
    a.directories = {false, true};
    b.index = 1;
    b.rule_id = 5;
    b.scope = 2;
    b.audit = true;
    b.files = {{1, 100}};
    b.directories = {false};
    c.allowlists = {a, b};
    policy::CompiledScope s;
    s.bit = 2;
    s.cgroup_ids = {555, 777};
    c.scopes.push_back(s);
    auto img = build_map_image(c, 2);
    REQUIRE(img);
    REQUIRE(img->exec_keys.size() == 2);
    CHECK(img->exec_keys[0].ino == 100);
    CHECK(img->exec_allows[0].allowlists == 0b11);
    CHECK(img->exec_keys[1].ino == 200);
    CHECK(img->exec_allows[1].allowlists == 0b01);
    CHECK(img->config.n_allowlists == 2);
    CHECK(img->config.allowlist_rule[0] == 4);
    CHECK(img->config.allowlist_rule[1] == 5);
    CHECK(img->config.allowlist_scope[1] == 2);
    CHECK(img->config.allowlist_flags[1] == BW_RULE_AUDIT);
    CHECK(img->config.flags == BW_CFG_EXEC_DIRS);  // no file rules: BW_CFG_FILES stays clear
    CHECK(filter_has(*img, 1, 200));
    REQUIRE(img->scope_keys.size() == 2);
    CHECK(img->scope_keys[0] == 555);
    CHECK(img->scope_masks[0].scopes == (1ull << 2));
}

TEST_CASE("what does not fit the kernel's fixed limits is an error, not a truncated generation") {
    policy::CompiledPolicy c;
    for (uint32_t i = 0; i <= BW_MAX_ALLOWLISTS; ++i) {
        policy::CompiledAllowlist a;
        a.index = i;
        c.allowlists.push_back(a);
    }
    auto img = build_map_image(c, 1);
    REQUIRE_FALSE(img);
    CHECK(img.error().err == E2BIG);

    policy::CompiledPolicy d;
    policy::CompiledScope s;
    s.bit = BW_SCOPE_HOST;  // the host bit is never a cgroup's
    s.cgroup_ids = {1};
    d.scopes.push_back(s);
    CHECK_FALSE(build_map_image(d, 1));
}

TEST_CASE("precedence: enforcing beats auditing, then kill > deny all > deny write (the kernel's table)") {
    struct Row {
        uint32_t action;
        bool audit;
        uint32_t strength;
    };
    // The whole table, as the kernel's walk compares it.
    const Row table[] = {
        {BW_ACT_DENY_WRITE, true, 1}, {BW_ACT_DENY_ALL, true, 2}, {BW_ACT_KILL, true, 3},
        {BW_ACT_DENY_WRITE, false, 5}, {BW_ACT_DENY_ALL, false, 6}, {BW_ACT_KILL, false, 7},
    };
    for (const auto& r : table) {
        INFO("action " << r.action << (r.audit ? " audit" : " enforce"));
        CHECK(bw_rule_strength(r.action, r.audit ? BW_RULE_AUDIT : 0) == r.strength);
        CHECK(bw_rule_strength(r.action, r.audit ? BW_RULE_AUDIT : 0) > 0);  // never "no rule"
    }
    // Any enforcing rule beats every auditing one.
    CHECK(bw_rule_strength(BW_ACT_DENY_WRITE, 0) > bw_rule_strength(BW_ACT_KILL, BW_RULE_AUDIT));
    // The image builder's action codes are the ones the table orders.
    CHECK(kernel_action(RuleKind::protect_write) < kernel_action(RuleKind::protect_all));
    CHECK(kernel_action(RuleKind::protect_all) < kernel_action(RuleKind::kill_on_open));
    CHECK(kernel_action(RuleKind::exec_allowlist) == BW_ACT_NONE);
}
