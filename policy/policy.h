// policy.h — the policy library's public API: YAML in, compiled policy out.
//
// No libbpf, no root: everything here runs in unit tests.  The compiled policy
// is plain data that the daemon's map writer turns into BPF map entries.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::policy {

// ---------------------------------------------------------------- diagnostics

// 1-based line and column; line 0 means "the whole file".
struct Location {
    std::string file;
    int line = 0;
    int column = 0;
};

enum class Severity { error, warning };

struct Diagnostic {
    Severity severity = Severity::error;
    Location loc;
    std::string message;

    // "FILE:LINE:COL: error: MESSAGE" (":LINE:COL" left out when line == 0).
    std::string to_string() const;
};

bool has_errors(const std::vector<Diagnostic>& diags);

// ------------------------------------------------------------- parsed policy

enum class PolicyMode { enforce, audit };
enum class DenyKind { write, all };

// `recursive: true` on a directory: the directory and everything below it.
struct ProtectedFile {
    std::string path;
    DenyKind deny = DenyKind::all;
    bool recursive = false;
    Location loc;
};

struct KillOnOpen {
    std::string path;
    bool recursive = false;
    Location loc;
};

// A path ending in '/' names a directory: everything below it is allowed.
struct ExecEntry {
    std::string path;
    Location loc;
};

struct Scope {
    std::vector<std::string> units;    // systemd unit names, e.g. nginx.service
    std::vector<std::string> cgroups;  // absolute cgroup v2 directories
    Location loc;
};

struct Policy {
    std::string name;
    PolicyMode mode = PolicyMode::enforce;
    std::optional<Scope> scope;  // none: the whole host
    std::vector<ProtectedFile> protected_files;
    std::vector<KillOnOpen> kill_on_open;
    std::optional<std::vector<ExecEntry>> exec_allowlist;  // present => allowlist in force
    // spec.allowLockout: the admin means a policy the lockout guard would
    // refuse (its errors become warnings).
    bool allow_lockout = false;
    Location loc;  // where the policy document starts
};

struct ParseResult {
    std::vector<Policy> policies;
    std::vector<Diagnostic> diagnostics;
    bool ok() const { return !has_errors(diagnostics); }
};

// One YAML text (a file may hold several `---` documents, one policy each).
ParseResult parse_policy_text(std::string_view text, const std::string& filename);
// One file from disk (read errors become diagnostics).
ParseResult parse_policy_file(const std::string& path);
// Files and directories; a directory contributes its *.yaml and *.yml files
// (not recursive), in name order; "-" is standard input (named "<stdin>"
// in messages; not with `trusted_only`).  Duplicate policy names across all
// inputs are errors.
//
// With `trusted_only` (bulwarkd), every input, file read and directory above
// them must pass check_trusted: an untrusted one is an error, not read.
ParseResult parse_policy_paths(const std::vector<std::string>& paths, bool trusted_only = false);

// Like sshd's StrictModes: errors when `path` (a file or directory; a
// symlink is judged by its target) or a directory above it can be changed
// by anyone but root (or the calling user): owned by another user, or
// writable by group or others (a directory above may be if it is sticky, as
// /tmp is).  Empty when it is trustworthy or does not exist.
std::vector<Diagnostic> check_trusted(const std::string& path);

// ----------------------------------------------------------- compiled policy

// A file identity as the kernel sees it: dev in the kernel's encoding
// (major << 20 | minor), never glibc's st_dev.
struct FileIdentity {
    uint64_t dev = 0;
    uint64_t ino = 0;
    auto operator<=>(const FileIdentity&) const = default;
};

// glibc st_dev -> kernel dev_t encoding.
uint64_t kernel_dev_from_st_dev(uint64_t st_dev);
// kernel dev_t encoding -> "major:minor".
std::string format_kernel_dev(uint64_t kdev);
// Whether BPF programs loaded now can key a btrfs file as stat() does, by
// its subvolume's device (bpf/identity.bpf.h): btrfs's types are in the
// kernel's BTF (btrfs built in, or its module loaded).  For `bulwarkctl
// check`, which links no libbpf; bulwarkd itself goes by the offsets it
// reads (daemon/loader.h, kernel_btrfs_layout()).
bool kernel_btf_knows_btrfs();

enum class RuleKind { protect_write, protect_all, kill_on_open, exec_allowlist };
std::string_view to_string(RuleKind k);   // "protectedFiles(write)", ...
std::string_view to_string(PolicyMode m); // "enforce" / "audit"

// One rule as written by the user (one list entry; one allowlist per policy).
struct CompiledRule {
    uint32_t id = 0;  // index in CompiledPolicy::rules
    RuleKind kind = RuleKind::protect_all;
    std::string policy;
    PolicyMode mode = PolicyMode::enforce;
    std::string path;      // as written (for exec_allowlist: the policy's first entry, see CompiledAllowlist)
    Location loc;
    uint32_t scope = 0;    // scope bit, 0 = whole host
    // Added for summaries (not needed by the map writer): what the path
    // resolved to when compiled; none when it does not exist or for
    // exec_allowlist rules (see CompiledAllowlist).
    std::optional<FileIdentity> identity;
    std::string resolved_path;
    // The path resolved to a directory (a recursive rule: the directory and
    // everything below it).
    bool directory = false;
    // Set when another rule on the same identity won the FileEntry (the
    // compiler warned about it).
    std::optional<uint32_t> shadowed_by;
    // Set when a stronger rule on a directory above this rule's file covers
    // it in at least this rule's scope: the kernel never lets this rule
    // decide (the compiler warned about it).
    std::optional<uint32_t> outranked_by;
    // Set when the rule resolved but is deliberately kept out of the maps
    // (the compiler warned why), e.g. "btrfs".
    std::string not_enforced_reason;
    // The rule is also bound to its path (a NameEntry): the identity of the
    // directory its file is in.  Set for a file rule whose directory exists,
    // the file itself too or not yet; never for directory rules.
    std::optional<FileIdentity> bound_dir;
    bool bound_to_path() const { return bound_dir.has_value() && not_enforced_reason.empty(); }
};

// What the kernel's file map holds for one identity.
struct FileEntry {
    FileIdentity id;
    RuleKind kind = RuleKind::protect_all;  // protect_write / protect_all / kill_on_open
    uint32_t rule_id = 0;
    uint32_t scope = 0;
    bool audit = false;
    std::string path;  // resolved path, for humans
    // The inode's generation when resolved (0: unknown): a later file that
    // reuses the inode number is not this one (detail::inode_generation).
    uint32_t generation = 0;
    // A directory rule (recursive: true): the kernel matches the directory
    // and everything below it (limits::max_dir_depth levels, same filesystem).
    bool directory = false;
    // Directory rules: the device of the filesystem's superblock (kernel
    // encoding; on btrfs not the subvolume's): a file the kernel finds
    // without its path on that filesystem meets the rule's fallback
    // (bw_gen_config.unplaced).  0: not known, any filesystem.
    uint64_t sb_dev = 0;
};

// A file rule bound to its path (the kernel's bw_names map): whatever file
// has the name `name` in the directory `dir` -- created, renamed or linked
// there after the compile -- takes the rule, like the file it named.
struct NameEntry {
    FileIdentity dir;
    std::string name;  // one path component
    RuleKind kind = RuleKind::protect_all;
    uint32_t rule_id = 0;
    uint32_t scope = 0;
    bool audit = false;
    std::string path;  // resolved directory + "/" + name, for humans
    uint64_t sb_dev = 0;  // as FileEntry::sb_dev, of `dir`'s filesystem
};

// A directory above some file entry's file, up to "/": nothing may be
// mounted over it (the kernel's bw_mounts map).
struct MountGuard {
    FileIdentity id;
    uint32_t rule_id = 0;  // a rule whose file lies below (enforcing ones first)
    RuleKind kind = RuleKind::protect_all;
    bool audit = false;    // every rule below is in audit mode
    std::string path;      // for humans
};

// A scope: the cgroups (by v2 id) whose processes, and those of every cgroup
// below them, a scoped policy applies to.
struct CompiledScope {
    uint32_t bit = 0;  // 1..63
    std::string policy;
    std::vector<uint64_t> cgroup_ids;
    std::vector<std::string> cgroup_paths;
    // Added for summaries: scope entries that matched no cgroup this time,
    // as "unit NAME" / "cgroup PATH" (warned; resolved again at reload).
    std::vector<std::string> unresolved;
    // The scope as written in the policy.
    std::vector<std::string> units;
    std::vector<std::string> cgroups;
};

struct CompiledAllowlist {
    uint32_t index = 0;  // bit in bw_exec_allow.allowlists
    uint32_t rule_id = 0;
    uint32_t scope = 0;
    bool audit = false;
    std::vector<FileIdentity> files;
    std::vector<std::string> paths;  // resolved, parallel to files
    // Added for summaries: entries (as written) that do not exist (warned).
    std::vector<std::string> missing;
    std::vector<bool> directories;   // parallel to files: entry is a directory (allows everything below)
    std::vector<uint32_t> generations;  // parallel to files: inode generation when resolved (0: unknown)
};

// Two exec allowlists whose scopes can hold the same process: such a process
// must pass both (the kernel requires every allowlist whose scope holds it).
struct AllowlistOverlap {
    uint32_t first = 0;   // allowlist index
    uint32_t second = 0;  // allowlist index, > first
    std::string reason;   // e.g. "both apply to the whole host"
};

// A compiled policy document (one per Policy given to compile()).
struct CompiledPolicyInfo {
    std::string name;
    PolicyMode mode = PolicyMode::enforce;
    uint32_t scope = 0;  // scope bit, 0 = whole host
    Location loc;
};

// A program a host cannot do without (the lockout guard): what it is
// ("PID 1's binary", "the package manager", ...) and its canonical path.
struct EssentialProgram {
    std::string what;
    std::string path;
};
// Those installed on this host: PID 1's binary and its dynamic loader,
// systemd's programs (/usr/lib/systemd/systemd*, systemctl), bulwarkd,
// bulwarkctl and the running program, dpkg/apt, sshd/login/agetty.
std::vector<EssentialProgram> essential_programs();

struct CompileOptions {
    // cgroup v2 mount point used to resolve scope.units; empty: find it in
    // /proc/self/mountinfo.
    std::string cgroup2_root;
    // The BPF programs key btrfs files by subvolume device
    // (kernel_btf_knows_btrfs() when they were loaded); false: rules on
    // btrfs are not enforced, and say so.
    bool btrfs_identity = false;
    // What a host-wide enforcing allowlist must allow (the lockout guard);
    // none: this host's, essential_programs().
    std::optional<std::vector<EssentialProgram>> essential_programs;
};

struct CompiledPolicy {
    std::vector<CompiledPolicyInfo> policies;  // in input order
    std::vector<CompiledRule> rules;
    std::vector<FileEntry> files;  // one entry per identity (precedence applied)
    std::vector<NameEntry> names;  // one entry per (directory, name) (precedence applied)
    std::vector<MountGuard> mount_guards;  // by identity, sorted
    std::vector<CompiledScope> scopes;
    std::vector<CompiledAllowlist> allowlists;
    std::vector<AllowlistOverlap> allowlist_overlaps;
    std::vector<Diagnostic> diagnostics;  // warnings (missing paths, shadowed rules) and errors
    bool ok() const { return !has_errors(diagnostics); }
};

CompiledPolicy compile(const std::vector<Policy>& policies, const CompileOptions& opts = {});

// The cgroups the unit scopes of `compiled` match now (the compile's own
// search, done again): cgroup v2 id -> scope bits.  bulwarkd binds those
// created since the compile just before the generation goes live; the
// kernel binds those created later (bpf/units.bpf.h).
std::map<uint64_t, uint64_t> unit_cgroups_now(const CompiledPolicy& compiled, const CompileOptions& opts = {});

// Human summary of what would be enforced (bulwarkctl check).
std::string summarize(const CompiledPolicy& compiled);

// The compiled policy as one JSON document (bulwarkctl check --json); the
// keys are documented in docs/policy.md.  `diagnostics`: every diagnostic to
// report (parser's and compiler's), in order; "valid" is false when one of
// them is an error.  Strings that are not valid UTF-8 get U+FFFD for the
// invalid bytes.  `indent` < 0: one line.
std::string to_json(const CompiledPolicy& compiled, const std::vector<Diagnostic>& diagnostics, int indent = 2);

}  // namespace bulwark::policy
