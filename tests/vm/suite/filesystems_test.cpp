// File identity on the filesystems a Debian host uses, in LSM mode: ext4 and
// xfs (on loop devices), btrfs (a loop device with subvolumes, whose inode
// numbers repeat) and overlayfs (lower and upper layers, and the merged
// view).  tmpfs is what every other suite uses.  The kernel's own modules
// (loop, overlay, xfs, btrfs) come from the kernel package the VM boots
// (tests/vm/fetch-kernel.sh); mkfs.* from the build machine's packages.
// Runs as root inside the test VM (tests/vm), started by its /init.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "test_env.h"

namespace fs = std::filesystem;
using testenv::Outcome;
using json = nlohmann::json;

namespace {

const std::string kDir = "/tmp/bwf";
const std::string kAudit = kDir + "/audit.jsonl";
const std::string kModules = "/opt/bulwark-test/modules";
const std::string kExt4 = kDir + "/ext4";
const std::string kLower = kDir + "/lower";
const std::string kUpper = kDir + "/upper";
const std::string kMerged = kDir + "/merged";
const std::string kXfs = kDir + "/xfs";
const std::string kBtrfs = kDir + "/btrfs";
const std::string kRuleless = kDir + "/ruleless";

std::string g_bulwarkd = "/usr/sbin/bulwarkd";
testenv::Daemon g_daemon;

std::string p(const std::string& name) { return kDir + "/" + name; }

// Loads module `name` (e.g. "overlay") and what it depends on, as
// modules.dep lists them; a module already loaded is fine.
void load_module(const std::string& name) {
    std::ifstream dep(kModules + "/modules.dep");
    std::map<std::string, std::vector<std::string>> deps;
    std::string target;
    for (std::string line; std::getline(dep, line);) {
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string mod = line.substr(0, colon);
        std::istringstream rest(line.substr(colon + 1));
        std::vector<std::string> list;
        for (std::string d; rest >> d;) list.push_back(d);
        deps[mod] = list;
        if (fs::path(mod).filename() == name + ".ko") target = mod;
    }
    if (target.empty()) throw std::runtime_error("module " + name + " not in modules.dep");
    std::vector<std::string> order(deps[target].rbegin(), deps[target].rend());
    order.push_back(target);
    for (const auto& mod : order) {
        const std::string path = kModules + "/" + mod;
        const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw std::runtime_error("open " + path + ": " + strerror(errno));
        const long rc = syscall(SYS_finit_module, fd, "", 0);
        const int err = errno;
        close(fd);
        if (rc != 0 && err != EEXIST) throw std::runtime_error("load " + mod + ": " + strerror(err));
    }
}

void run_or_throw(const std::vector<std::string>& argv) {
    Outcome o = testenv::run_program(argv);
    if (o.exit_code != 0) throw std::runtime_error(argv[0] + " failed: " + o.output);
}

// A filesystem made by `mkfs` (argv without the image) on a sparse image
// of `mib` MiB, mounted at `dir` through a loop device.
void make_loop_fs(const std::string& name, std::vector<std::string> mkfs, int mib, const std::string& dir) {
    const std::string image = p(name + ".img");
    {
        std::ofstream(image).close();
        fs::resize_file(image, uintmax_t(mib) << 20);
    }
    mkfs.push_back(image);
    run_or_throw(mkfs);
    fs::create_directories(dir);
    run_or_throw({"/bin/mount", "-o", "loop", image, dir});
}

// btrfs subvolume `name` in directory `parent` (what `btrfs subvolume
// create` does).
void make_subvolume(const std::string& parent, const std::string& name) {
    const int fd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open " + parent + ": " + strerror(errno));
    btrfs_ioctl_vol_args args{};
    std::strncpy(args.name, name.c_str(), sizeof(args.name) - 1);
    const int rc = ioctl(fd, BTRFS_IOC_SUBVOL_CREATE, &args);
    const int err = errno;
    close(fd);
    if (rc != 0) throw std::runtime_error("create subvolume " + parent + "/" + name + ": " + strerror(err));
}

struct stat stat_of(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) throw std::runtime_error("stat " + path + ": " + strerror(errno));
    return st;
}

void setup() {
    fs::create_directories(p("policies"));
    load_module("loop");
    load_module("overlay");
    load_module("xfs");
    load_module("btrfs");  // before bulwarkd starts: its BTF is what the programs key btrfs files by

    make_loop_fs("xfs", {"/usr/sbin/mkfs.xfs", "-q", "-f"}, 320, kXfs);
    testenv::write_file(kXfs + "/secret.txt", "xfs secret\n");
    testenv::write_file(kXfs + "/plain.txt", "xfs plain\n");

    // btrfs: the first files of the top-level subvolume and of each
    // subvolume get the same inode numbers (257, 258, ...), on different
    // stat() devices.  Order matters: the test checks the collisions.
    make_loop_fs("btrfs", {"/usr/sbin/mkfs.btrfs", "-q", "-f"}, 160, kBtrfs);
    testenv::write_file(kBtrfs + "/tsecret.txt", "top secret\n");
    testenv::write_file(kBtrfs + "/tplain.txt", "top plain\n");
    make_subvolume(kBtrfs, "sub");
    testenv::write_file(kBtrfs + "/sub/splain.txt", "subvolume plain\n");
    testenv::write_file(kBtrfs + "/sub/ssecret.txt", "subvolume secret\n");
    testenv::write_file(kBtrfs + "/sub/skill.txt", "subvolume tripwire\n");
    fs::create_directories(kBtrfs + "/sub/sdir");
    testenv::write_file(kBtrfs + "/sub/sdir/inner.txt", "below a protected directory\n");
    fs::create_directories(kBtrfs + "/nest");
    make_subvolume(kBtrfs + "/nest", "inner");
    testenv::write_file(kBtrfs + "/nest/inner/deep.txt", "in a subvolume below a protected directory\n");

    // ext4 on a loop device.
    const std::string image = p("ext4.img");
    {
        std::ofstream(image).close();
        fs::resize_file(image, 32 << 20);
    }
    run_or_throw({"/usr/sbin/mkfs.ext4", "-q", "-F", image});
    fs::create_directories(kExt4);
    run_or_throw({"/bin/mount", "-o", "loop", image, kExt4});
    testenv::write_file(kExt4 + "/secret.txt", "ext4 secret\n");
    testenv::write_file(kExt4 + "/plain.txt", "ext4 plain\n");
    fs::create_directories(kExt4 + "/vault/inner");
    testenv::write_file(kExt4 + "/vault/inner/key.txt", "below a kill-on-open directory\n");
    fs::create_directories(kExt4 + "/free");
    testenv::write_file(kExt4 + "/free/note.txt", "ext4 free\n");
    // A second ext4 that no rule names anything on.
    make_loop_fs("ruleless", {"/usr/sbin/mkfs.ext4", "-q", "-F"}, 32, kRuleless);
    testenv::write_file(kRuleless + "/note.txt", "no rules here\n");

    // An overlay of two tmpfs directories.
    for (const auto& d : {kLower, kUpper, p("work"), kMerged}) fs::create_directories(d);
    fs::create_directories(kLower + "/ldir");
    testenv::write_file(kLower + "/lsecret.txt", "lower secret\n");
    testenv::write_file(kLower + "/lkill.txt", "lower tripwire\n");
    testenv::write_file(kLower + "/ldir/inner.txt", "below a protected lower directory\n");
    testenv::write_file(kLower + "/lplain.txt", "lower plain\n");
    testenv::write_file(kLower + "/lro.txt", "lower read-only\n");
    testenv::write_file(kLower + "/mfile.txt", "seen through the merged path\n");
    testenv::write_file(kUpper + "/usecret.txt", "upper secret\n");
    const std::string opts = "lowerdir=" + kLower + ",upperdir=" + kUpper + ",workdir=" + p("work");
    if (mount("overlay", kMerged.c_str(), "overlay", 0, opts.c_str()) != 0)
        throw std::runtime_error(std::string("mount overlay: ") + strerror(errno));

    testenv::write_file(p("policies/fs.yaml"), R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: fs-rules
spec:
  protectedFiles:
    - path: /tmp/bwf/ext4/secret.txt
    - path: /tmp/bwf/lower/lsecret.txt
    - path: /tmp/bwf/lower/ldir
      recursive: true
    - path: /tmp/bwf/lower/lro.txt
      deny: write
    - path: /tmp/bwf/upper/usecret.txt
    - path: /tmp/bwf/merged/mfile.txt
    - path: /tmp/bwf/xfs/secret.txt
    - path: /tmp/bwf/btrfs/tsecret.txt
    - path: /tmp/bwf/btrfs/sub/ssecret.txt
    - path: /tmp/bwf/btrfs/sub/sdir
      recursive: true
    - path: /tmp/bwf/btrfs/nest
      recursive: true
  killOnOpen:
    - path: /tmp/bwf/ext4/vault
      recursive: true
    - path: /tmp/bwf/lower/lkill.txt
    - path: /tmp/bwf/btrfs/sub/skill.txt
)");
    testenv::write_file(p("bulwark.yaml"), "policyDir: " + p("policies") + "\nauditLog: " + kAudit + "\nmode: lsm\n");
}

// A child opens `path` with `flags`, reads it and writes what it read to the
// pipe: exit 0, or the errno of the open.
Outcome read_in_child(const std::string& path) {
    return testenv::run_child([path](int out) {
        const int fd = open(path.c_str(), O_RDONLY);
        if (fd < 0) return errno;
        char buf[256];
        const ssize_t n = read(fd, buf, sizeof(buf));
        return n >= 0 && write(out, buf, size_t(n)) == n ? 0 : 99;
    });
}

void expect_denied(const std::string& path) {
    INFO(path);
    Outcome o = read_in_child(path);
    CHECK(o.exit_code == EPERM);
    CHECK(o.output.empty());
    auto recs = testenv::wait_for_audit(kAudit, [&](const json& r) { return r["pid"] == o.pid; });
    REQUIRE(!recs.empty());
    INFO(recs[0].dump());
    CHECK(recs[0]["action"] == "denied");
    CHECK(recs[0]["policy"] == "fs-rules");
}

// Opening `path` kills the opener before it reads a byte; one record.
void expect_killed(const std::string& path) {
    INFO(path);
    Outcome o = read_in_child(path);
    CHECK(o.signaled);
    CHECK(o.signal == SIGKILL);
    CHECK(o.output.empty());
    auto recs = testenv::wait_for_audit(kAudit, [&](const json& r) { return r["pid"] == o.pid; });
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["action"] == "killed");
    CHECK(recs[0]["rule"] == "killOnOpen");
}

}  // namespace

TEST_CASE("ext4: a file opened by handle without its path still meets its directory's rule: refused, not killed",
          "[ext4][handle]") {
    // Control: the helper reads a file by handle, and the kernel really had
    // lost its path (the descriptor's path is not it) -- on a filesystem
    // where no rule names anything: the fallback holds only on those that
    // have directory rules or path bindings.
    Outcome control = testenv::read_by_handle_in_child(kRuleless + "/note.txt", kRuleless, true);
    REQUIRE(control.exit_code == 0);
    const size_t nl = control.output.find('\n');
    REQUIRE(nl != std::string::npos);
    INFO("the control's descriptor path: " << control.output.substr(0, nl));
    CHECK(control.output.substr(0, nl) != kRuleless + "/note.txt");
    CHECK(control.output.substr(nl + 1) == "no rules here\n");
    // On ext4 too, by handle, while the kernel still knows the path.
    Outcome known = testenv::read_by_handle_in_child(kExt4 + "/free/note.txt", kExt4, false);
    CHECK(known.exit_code == 0);
    CHECK(known.output == kExt4 + "/free/note.txt\next4 free\n");

    // By its path the file is a kill-on-open file (its directory's rule).
    expect_killed(kExt4 + "/vault/inner/key.txt");

    // By handle, with its path lost: no directory can be checked, so the
    // strongest directory rule applies, as a refusal.
    Outcome o = testenv::read_by_handle_in_child(kExt4 + "/vault/inner/key.txt", kExt4, true);
    CHECK(o.exited);
    CHECK(o.exit_code == EPERM);
    CHECK(o.output.empty());
    auto recs = testenv::wait_for_audit(kAudit, [&](const json& r) { return r["pid"] == o.pid; });
    REQUIRE(recs.size() == 1);
    INFO(recs[0].dump());
    CHECK(recs[0]["action"] == "denied");
    CHECK(recs[0]["unplaced"] == true);
    CHECK(recs[0]["rule"] == "killOnOpen");
    CHECK(recs[0]["policy"] == "fs-rules");
    CHECK(recs[0]["via_directory"] == false);
    CHECK(recs[0]["path"].is_null());  // the kernel had no path for it
    CHECK(recs[0]["ino"] == stat_of(kExt4 + "/vault/inner/key.txt").st_ino);
}

TEST_CASE("ext4: a protected file is refused, its neighbour reads", "[ext4]") {
    Outcome control = read_in_child(kExt4 + "/plain.txt");
    CHECK(control.exit_code == 0);
    CHECK(control.output == "ext4 plain\n");
    expect_denied(kExt4 + "/secret.txt");
}

TEST_CASE("xfs: a protected file is refused, its neighbour reads", "[xfs]") {
    Outcome control = read_in_child(kXfs + "/plain.txt");
    CHECK(control.exit_code == 0);
    CHECK(control.output == "xfs plain\n");
    expect_denied(kXfs + "/secret.txt");
}

TEST_CASE("btrfs: a rule holds for the file meant, not for its inode number in another subvolume", "[btrfs]") {
    // The premise: same inode numbers, different stat() devices.
    const struct stat tsecret = stat_of(kBtrfs + "/tsecret.txt"), splain = stat_of(kBtrfs + "/sub/splain.txt");
    const struct stat ssecret = stat_of(kBtrfs + "/sub/ssecret.txt"), tplain = stat_of(kBtrfs + "/tplain.txt");
    REQUIRE(tsecret.st_ino == splain.st_ino);
    REQUIRE(ssecret.st_ino == tplain.st_ino);
    REQUIRE(tsecret.st_dev != splain.st_dev);

    // Controls: the namesakes of the protected files read.
    for (const auto& [path, bytes] : std::map<std::string, std::string>{
             {kBtrfs + "/sub/splain.txt", "subvolume plain\n"}, {kBtrfs + "/tplain.txt", "top plain\n"}}) {
        INFO(path);
        Outcome o = read_in_child(path);
        CHECK(o.exit_code == 0);
        CHECK(o.output == bytes);
    }
    expect_denied(kBtrfs + "/tsecret.txt");  // top-level subvolume
    expect_denied(kBtrfs + "/sub/ssecret.txt");  // a subvolume
    // The record names the file as stat() does.
    Outcome o = read_in_child(kBtrfs + "/sub/ssecret.txt");
    CHECK(o.exit_code == EPERM);
    auto recs = testenv::wait_for_audit(kAudit, [&](const json& r) { return r["pid"] == o.pid; });
    REQUIRE(!recs.empty());
    CHECK(recs[0]["ino"] == uint64_t(ssecret.st_ino));
    CHECK(recs[0]["dev"] == std::to_string(major(ssecret.st_dev)) + ":" + std::to_string(minor(ssecret.st_dev)));
}

TEST_CASE("btrfs: directory rules hold inside a subvolume and across a subvolume below them", "[btrfs]") {
    expect_denied(kBtrfs + "/sub/sdir/inner.txt");
    expect_denied(kBtrfs + "/nest/inner/deep.txt");  // /nest is in the top level, inner/ a subvolume
}

TEST_CASE("btrfs: a kill-on-open file in a subvolume kills its opener", "[btrfs]") {
    expect_killed(kBtrfs + "/sub/skill.txt");
}

TEST_CASE("btrfs and xfs: check reports every rule enforced", "[btrfs][xfs]") {
    // stdout only: the JSON document (warnings go to stderr)
    Outcome o = testenv::run_program(
        {"/bin/sh", "-c", "exec /usr/bin/bulwarkctl check --json " + p("policies") + " 2>/dev/null"});
    INFO(o.output);
    REQUIRE(o.exit_code == 0);
    const json doc = json::parse(o.output);
    int seen = 0;
    for (const auto& r : doc["rules"]) {
        const std::string path = r["path"];
        if (path.rfind(kBtrfs, 0) != 0 && path.rfind(kXfs, 0) != 0) continue;
        INFO(path);
        CHECK(r["status"] == "enforced");
        ++seen;
    }
    CHECK(seen == 6);
}

TEST_CASE("overlayfs: rules on lower-layer files hold through the merged mount", "[overlay]") {
    Outcome control = read_in_child(kMerged + "/lplain.txt");
    CHECK(control.exit_code == 0);
    CHECK(control.output == "lower plain\n");
    expect_denied(kMerged + "/lsecret.txt");
    expect_denied(kMerged + "/ldir/inner.txt");  // a directory rule on the lower layer
    expect_denied(kLower + "/lsecret.txt");      // and the layer itself
}

TEST_CASE("overlayfs: a kill-on-open lower file kills whoever opens it through the merged mount", "[overlay]") {
    expect_killed(kMerged + "/lkill.txt");
}

TEST_CASE("overlayfs: rules on upper-layer files and on merged paths hold", "[overlay]") {
    expect_denied(kMerged + "/usecret.txt");
    expect_denied(kMerged + "/mfile.txt");
}

TEST_CASE("overlayfs: a deny-write lower file stays unchanged when written through the merged mount",
          "[overlay]") {
    // Writing through the overlay copies the file up to the upper layer
    // first (docs/policy.md): the lower file, the one the rule names, keeps
    // its bytes.  Control: the same write to the plain file lands.
    for (const std::string name : {"lro.txt", "lplain.txt"}) {
        INFO(name);
        Outcome o = testenv::run_child([&](int) {
            const int fd = open((kMerged + "/" + name).c_str(), O_WRONLY | O_TRUNC);
            if (fd < 0) return errno;
            return write(fd, "forged\n", 7) == 7 ? 0 : 99;
        });
        INFO(o.exit_code);
        CHECK(testenv::read_file(kLower + "/" + name) == (name == "lro.txt" ? "lower read-only\n" : "lower plain\n"));
        if (name == "lplain.txt") {
            CHECK(o.exit_code == 0);
            CHECK(testenv::read_file(kMerged + "/" + name) == "forged\n");
        }
    }
}

int main(int argc, char** argv) {
    if (const char* d = getenv("BULWARKD")) g_bulwarkd = d;
    return testenv::suite_main(
        argc, argv, [] { setup(); }, g_daemon, g_bulwarkd, p("bulwark.yaml"),
        [&] { return Catch::Session().run(argc, argv); });
}
