// The audit log: one JSON object per line, per-boot gapless sequence numbers
// that continue across restarts, reopen after rotation without loss.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/audit_sink.h"

using namespace bulwark;
using json = nlohmann::json;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/bulwark-audit-test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

std::vector<json> read_lines(const std::string& path) {
    std::vector<json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
    return out;
}

json record(AuditSink& sink, const std::string& boot) {
    json j;
    j["v"] = 1;
    j["seq"] = sink.take_seq();
    j["boot_id"] = boot;
    j["kind"] = "file_open";
    return j;
}

}  // namespace

TEST_CASE("records are lines with gapless sequence numbers") {
    TempDir dir;
    const std::string path = dir.path + "/sub/audit.jsonl";  // directory created on open
    auto sink = AuditSink::open(path, FlushPolicy::batch, "boot-a");
    REQUIRE(sink.ok());
    for (int i = 0; i < 10; ++i) (*sink)->add(record(**sink, "boot-a"));
    REQUIRE_FALSE((*sink)->commit());
    auto lines = read_lines(path);
    REQUIRE(lines.size() == 10);
    for (size_t i = 0; i < lines.size(); ++i) CHECK(lines[i]["seq"] == i + 1);
}

TEST_CASE("the sequence continues across a restart in the same boot, and restarts with a new boot") {
    TempDir dir;
    const std::string path = dir.path + "/audit.jsonl";
    {
        auto sink = AuditSink::open(path, FlushPolicy::batch, "boot-a");
        REQUIRE(sink.ok());
        for (int i = 0; i < 3; ++i) REQUIRE_FALSE((*sink)->write(record(**sink, "boot-a")));
    }
    {
        auto sink = AuditSink::open(path, FlushPolicy::batch, "boot-a");
        REQUIRE(sink.ok());
        CHECK((*sink)->take_seq() == 4);
    }
    {
        auto sink = AuditSink::open(path, FlushPolicy::batch, "boot-b");
        REQUIRE(sink.ok());
        CHECK((*sink)->take_seq() == 1);
    }
}

TEST_CASE("a partial last line from a crash is ignored when continuing") {
    TempDir dir;
    const std::string path = dir.path + "/audit.jsonl";
    {
        std::ofstream out(path);
        out << R"({"v":1,"seq":7,"boot_id":"boot-a"})" << "\n" << R"({"v":1,"seq":8,"boo)";
    }
    auto sink = AuditSink::open(path, FlushPolicy::batch, "boot-a");
    REQUIRE(sink.ok());
    CHECK((*sink)->take_seq() == 8);
}

TEST_CASE("reopen after rotation loses and doubles nothing") {
    TempDir dir;
    const std::string path = dir.path + "/audit.jsonl";
    auto sink = AuditSink::open(path, FlushPolicy::none, "boot-a");  // lines held in memory
    REQUIRE(sink.ok());
    for (int i = 0; i < 5; ++i) (*sink)->add(record(**sink, "boot-a"));
    REQUIRE_FALSE((*sink)->commit());  // under `none`, still pending
    // logrotate renames the file, then sends SIGUSR1.
    std::filesystem::rename(path, path + ".1");
    for (int i = 0; i < 2; ++i) (*sink)->add(record(**sink, "boot-a"));
    REQUIRE_FALSE((*sink)->reopen());
    for (int i = 0; i < 3; ++i) (*sink)->add(record(**sink, "boot-a"));
    REQUIRE_FALSE((*sink)->commit(true));

    auto old_lines = read_lines(path + ".1");
    auto new_lines = read_lines(path);
    REQUIRE(old_lines.size() == 7);
    REQUIRE(new_lines.size() == 3);
    std::vector<uint64_t> seqs;
    for (auto& l : old_lines) seqs.push_back(l["seq"]);
    for (auto& l : new_lines) seqs.push_back(l["seq"]);
    for (size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == i + 1);
}

TEST_CASE("fsync flushing writes every batch") {
    TempDir dir;
    const std::string path = dir.path + "/audit.jsonl";
    auto sink = AuditSink::open(path, FlushPolicy::fsync, "b");
    REQUIRE(sink.ok());
    (*sink)->add(record(**sink, "b"));
    REQUIRE_FALSE((*sink)->commit());
    CHECK(read_lines(path).size() == 1);
}
