// Every ```yaml block of docs/policy.md, every example policy in
// config/policies.d and every file in tests/unit/schema/valid is a complete policy that the parser accepts (the JSON
// Schema test, tests/unit/schema_test.py, checks the same texts against the
// schema).  Only the parser runs: compiling would depend on this machine's
// files and cgroups.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "policy/policy.h"
#include "test_util.h"

using namespace bulwark::policy;
using bulwark::test::lines;
namespace fs = std::filesystem;

namespace {

// The source tree, from this file's path (CMake compiles with absolute paths).
fs::path source_root()
{
    return fs::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string read(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct Block {
    int line = 0;  // line of the opening fence
    std::string text;
};

std::vector<Block> yaml_blocks(const std::string& markdown)
{
    std::vector<Block> out;
    std::istringstream in(markdown);
    std::string line;
    int n = 0;
    Block* open = nullptr;
    bool other_fence = false;
    while (std::getline(in, line)) {
        ++n;
        if (open != nullptr) {
            if (line.rfind("```", 0) == 0)
                open = nullptr;
            else
                open->text += line + "\n";
            continue;
        }
        if (other_fence) {
            other_fence = line.rfind("```", 0) != 0;
            continue;
        }
        if (line == "```yaml") {
            out.push_back(Block{n, {}});
            open = &out.back();
        } else if (line.rfind("```", 0) == 0) {
            other_fence = true;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("every yaml example in docs/policy.md is a valid policy", "[policy][docs]")
{
    const fs::path doc = source_root() / "docs" / "policy.md";
    const auto blocks = yaml_blocks(read(doc));
    REQUIRE(blocks.size() >= 10);
    for (const auto& b : blocks) {
        const std::string name = doc.string() + ":" + std::to_string(b.line);
        const ParseResult r = parse_policy_text(b.text, name);
        INFO(name << "\n" << b.text);
        CHECK(lines(r.diagnostics, Severity::error).empty());
        CHECK_FALSE(r.policies.empty());
    }
}

TEST_CASE("the example policies in config/policies.d and the schema test's valid ones are valid", "[policy][docs]")
{
    for (const fs::path& dir : {source_root() / "config" / "policies.d", source_root() / "tests" / "unit" / "schema" / "valid"}) {
        std::size_t files = 0;
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.path().extension() != ".yaml" && e.path().extension() != ".yml")
                continue;
            ++files;
            const ParseResult r = parse_policy_file(e.path().string());
            INFO(e.path().string());
            CHECK(r.diagnostics.empty());
            CHECK_FALSE(r.policies.empty());
        }
        INFO(dir.string());
        CHECK(files > 0);
    }
}
