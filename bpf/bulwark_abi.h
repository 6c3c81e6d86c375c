/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bulwark_abi.h — every struct, enum and constant that crosses the kernel
 * boundary (map keys and values, ring-buffer events).  Included by the BPF
 * programs and by the daemon; it is the only definition.  Fixed-size types,
 * explicit padding, sizes checked at compile time on both sides.
 */
#ifndef BULWARK_ABI_H
#define BULWARK_ABI_H

#include <linux/types.h>

#define BW_ABI_VERSION 7

#define BW_COMM_LEN 16
#define BW_PATH_LEN 256

/* Scope bit 0 is "the whole host"; a task is always inside it.  Scoped
 * policies get bits 1..BW_MAX_SCOPES-1. */
#define BW_SCOPE_HOST 0
#define BW_MAX_SCOPES 64
/* How many cgroup levels the kernel walks up to find a scope. */
#define BW_MAX_CGROUP_DEPTH 32
/* Exec allowlists (one per policy that has `execAllowlist`). */
#define BW_MAX_ALLOWLISTS 32
/* How many directory levels above a file the kernel looks for directory
 * rules (the file itself not counted). */
#define BW_MAX_DIR_DEPTH 32

/* Two generations of policy maps ("slots").  The daemon fills the slot no
 * program can reach, flips bw_state to it in one map update, waits for an
 * RCU grace period (no program still runs on the old slot) and only then
 * releases or reuses the old slot (docs/architecture.md, "Generations"). */
#define BW_SLOTS 2
/* bw_state.magic and bw_gen_config.magic: written by bulwarkd, never 0. */
#define BW_STATE_MAGIC 0x6277726bu /* "bwrk" */

/* What a file rule does (bw_file_rule.action), strongest last. */
enum bw_file_action {
	BW_ACT_NONE = 0,
	BW_ACT_DENY_WRITE = 1, /* protectedFiles deny: write */
	BW_ACT_DENY_ALL = 2,   /* protectedFiles deny: all */
	BW_ACT_KILL = 3,       /* killOnOpen */
};

/* bw_file_rule.flags and bw_gen_config.allowlist_flags */
#define BW_RULE_AUDIT (1u << 0) /* policy in audit mode: report, allow */

/* Precedence at run time, the one definition: among the file rules that
 * match a file (its own identity and its ancestors') and hold the task in
 * their scope, the strongest wins.  An enforcing rule beats an auditing one;
 * within a mode the stronger action wins (kill > deny all > deny write).
 * Never 0 for a real rule.  Used by the kernel's match (bpf/walk.bpf.h), the
 * policy compiler's shadowing analysis and the map image builder. */
static inline __u32 bw_rule_strength(__u32 action, __u32 flags)
{
	return ((flags & BW_RULE_AUDIT) ? 0u : 4u) + action;
}

/* Event kinds (bw_event.kind). */
enum bw_event_kind {
	BW_EV_FILE_OPEN = 1,   /* open of a protected / kill-on-open file */
	BW_EV_EXEC = 2,        /* exec outside an allowlist */
	BW_EV_FILE_CHANGE = 3, /* unlink, rename, link, truncate, chmod, ... of a guarded file */
	BW_EV_PREEXISTING = 4, /* a descriptor on a covered file was open when its rule came into force */
	BW_EV_FILE_ACCESS = 5, /* read, write or map through a descriptor no open check saw */
	BW_EV_TAMPER = 6,      /* an attempt on bulwark itself (its BPF objects, pins, process) */
};

/* What a BW_EV_FILE_CHANGE tried (bw_event.op). */
enum bw_change_op {
	BW_OP_NONE = 0,
	BW_OP_UNLINK = 1,
	BW_OP_RMDIR = 2,
	BW_OP_RENAME_FROM = 3, /* the guarded file was to be renamed / moved away */
	BW_OP_RENAME_OVER = 4, /* something was to be renamed over the guarded file */
	BW_OP_LINK = 5,
	BW_OP_TRUNCATE = 6,
	BW_OP_CHMOD = 7,
	BW_OP_CHOWN = 8,
	BW_OP_SETXATTR = 9,
	BW_OP_REMOVEXATTR = 10,
	BW_OP_UTIMES = 11, /* utimensat, futimens, utime: the file's times */
	BW_OP_MOUNT = 12,  /* a mount over the guarded file or one of its ancestors */
	BW_OP_CHANGE_MAX = 12,
	/* What a BW_EV_TAMPER tried on bulwark itself. */
	BW_OP_BPF_MAP = 13,  /* a descriptor of one of its maps (bpf_map_get_fd_by_id, BPF_OBJ_GET) */
	BW_OP_BPF_PROG = 14, /* a descriptor of one of its programs */
	BW_OP_BPF_LINK = 15, /* detaching or updating one of its links (arg: the bpf() command) */
	BW_OP_UNPIN = 16,    /* unlinking, renaming or removing in its pin directory */
	BW_OP_UMOUNT = 17,   /* unmounting the bpf filesystem that holds its pins */
	BW_OP_SIGNAL = 18,   /* a signal to bulwarkd (arg: the signal) */
	BW_OP_PTRACE = 19,   /* ptrace, /proc/PID/mem, process_vm_*, pidfd_getfd on bulwarkd (arg: the mode) */
	BW_OP_SET_EXE = 20,  /* prctl(PR_SET_MM) of the executable while no bulwarkd runs (arg: the PR_SET_MM_* option) */
	BW_OP_BPF_LOAD = 21, /* loading an fmod_ret or BPF LSM program (arg: the program type) */
	BW_OP_SELF_FILE = 22, /* changing one of bulwark's own files (arg: the BW_OP_* change, BW_OP_NONE: an open for writing) */
	BW_OP_TAMPER_MAX = 22,
};

/* What happened (bw_event.verdict). */
enum bw_verdict {
	BW_VERDICT_DENIED = 1,
	BW_VERDICT_KILLED = 2,
	BW_VERDICT_AUDITED = 3, /* audit mode: would have been denied/killed, allowed */
	BW_VERDICT_KILL_FAILED = 4, /* the rule said kill, bpf_send_signal failed (LSM: still denied) */
};

/* bw_event.flags */
#define BW_EVF_PATH_TRUNCATED (1u << 0) /* path did not fit in BW_PATH_LEN */
#define BW_EVF_PATH_MISSING (1u << 1)   /* bpf_d_path failed; path[] is empty */
#define BW_EVF_WRITE (1u << 2)          /* the open asked for write access */
#define BW_EVF_NAME_ONLY (1u << 3)      /* path[] holds only the file's own name (hook had no path) */
#define BW_EVF_DIR_MATCH (1u << 4)      /* matched through a directory rule on an ancestor */
#define BW_EVF_WALK_TRUNCATED (1u << 5) /* ancestors above BW_MAX_DIR_DEPTH were not checked */
#define BW_EVF_RECEIVED (1u << 6)       /* file_open: a descriptor received (SCM_RIGHTS, pidfd_getfd) */
#define BW_EVF_MMAP_EXEC (1u << 7)      /* exec: a file mapped executable (mmap, mprotect), not execve */
#define BW_EVF_NAME_MATCH (1u << 8)     /* matched by the rule's path (its directory and name), not its identity */
#define BW_EVF_CONTENT_CHANGED (1u << 9) /* exec: an allowlisted file changed in place since it was trusted */
#define BW_EVF_UNPLACED (1u << 10)       /* the file's place in the tree was not known: bw_gen_config.unplaced applied */

/* Map key of the file maps: a file identity.  dev uses the kernel's
 * encoding (major << 20 | minor), not glibc's st_dev. */
struct bw_file_key {
	__u64 dev;
	__u64 ino;
};

/* Value of the file map. */
struct bw_file_rule {
	__u32 action;  /* enum bw_file_action */
	__u32 rule_id; /* index into the daemon's rule table of this generation */
	__u32 scope;   /* scope bit, BW_SCOPE_HOST for unscoped policies */
	__u32 flags;   /* BW_RULE_* */
	/* The file's inode generation (i_generation) when it was resolved; a
	 * file with the same inode number and another generation is a later
	 * file, not this one, and does not match.  0: not known, not checked
	 * (and always 0 in bw_names). */
	__u32 generation;
	__u32 _pad;
};

/* Trust follows content (LSM mode, bpf/content.bpf.h), two maps of their
 * own, not per generation, keyed by bw_file_key:
 * bw_exec_changed: an allowlisted file written in place (opened for
 * writing, truncated) by anyone but a trusted installer.  Its allowlist
 * entry no longer counts for that inode (of that generation, igen) until a
 * trusted installer replaces it. */
struct bw_content_change {
	__u32 igen;   /* the inode's i_generation */
	__u32 tgid;   /* who wrote it first */
};
#define BW_CONTENT_CHANGES_MAX 16384

/* bw_exec_installed: a file a trusted installer (dpkg) renamed over an
 * allowlisted file: it takes that file's allowlists, in the generation in
 * force when it was installed (allowlist bits are per generation; the next
 * compile finds it at its path). */
struct bw_installed {
	__u64 allowlists;
	__u32 igen;       /* the new inode's i_generation */
	__u32 generation; /* the generation whose allowlist bits these are */
};
#define BW_INSTALLED_MAX 16384

/* Map key of the name map (bw_names): a file rule's path as the kernel
 * sees it -- the identity of the directory it names and a hash of its last
 * component.  Whatever file is at that name (created, renamed or linked
 * there after the compile) takes the rule (value: bw_file_rule).  A hash
 * collision can only make another name of that directory match too: never
 * fewer files. */
struct bw_name_key {
	__u64 dev;  /* the directory's identity */
	__u64 ino;
	__u64 hash; /* bw_name_hash() of the name */
	__u32 len;  /* the name's length, 1..BW_NAME_MAX */
	__u32 pad;
};
#define BW_NAME_MAX 255
#define BW_NAME_HASH_SEED 0xcbf29ce484222325ull

/* One step of bw_name_hash: the next 8 bytes of the name (little-endian,
 * zero-padded at its end), the same on both sides of the kernel boundary. */
static inline __u64 bw_name_mix(__u64 h, __u64 word)
{
	h = (h ^ word) * 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}

/* Value of the exec allowlist map: which allowlists contain this file. */
struct bw_exec_allow {
	__u64 allowlists; /* bit i set: allowlist i allows it */
	__u32 generation; /* as in bw_file_rule: 0 = not checked */
	__u32 _pad;
};

/* Value of the scope map (key: cgroup v2 id): the scopes this cgroup starts. */
struct bw_scope_mask {
	__u64 scopes;
	__u32 flags; /* BW_SCOPE_F_* */
	__u32 pad;
};

/* bw_scope_mask.flags: bound after the compile, to a cgroup created later
 * with a scope's unit name (bpf/units.bpf.h, or bulwarkd's check just
 * before a generation goes live); removed again with its cgroup. */
#define BW_SCOPE_F_LIVE (1u << 0)

/* Key of the unit-name map (bw_units, one inner map per generation): a
 * systemd unit name a scope names, NUL-padded.  Value: bw_scope_mask, the
 * scopes a cgroup of that name starts. */
#define BW_UNIT_NAME_LEN 256
struct bw_unit_key {
	char name[BW_UNIT_NAME_LEN];
};

/* Room each generation's scope map keeps for cgroups bound after the
 * compile (a unit's cgroup removed frees its entry). */
#define BW_LIVE_SCOPE_IDS 4096

/* bw_gen_config.flags */
#define BW_CFG_FILE_DIRS (1u << 0) /* bw_files holds directory rules: walk ancestors */
#define BW_CFG_EXEC_DIRS (1u << 1) /* bw_exec holds directories: walk ancestors */
#define BW_CFG_FILES (1u << 2)     /* bw_files or bw_names is not empty: without it opens skip all matching */
#define BW_CFG_FILE_NAMES (1u << 3) /* bw_names is not empty: look the file's name up in its directory */
#define BW_CFG_UNPLACED (1u << 4)   /* bw_gen_config.unplaced holds a rule */

/* A rule for files the kernel finds without their path (bw_gen_config.
 * unplaced): it applies to such a file on the filesystem whose superblock
 * has device sb_dev (0: on any), for tasks in rule.scope. */
#define BW_UNPLACED_RULES 8
struct bw_unplaced {
	struct bw_file_rule rule; /* rule.action BW_ACT_NONE: entry unused */
	__u64 sb_dev;
};

/* Per-generation settings, array map indexed by slot.  magic is written last
 * of all (with the rest of the value, in one update), after the slot's inner
 * maps: a slot whose config has the magic is complete. */
struct bw_gen_config {
	__u32 magic;      /* BW_STATE_MAGIC; 0: slot empty or being written */
	__u32 generation;
	__u32 n_allowlists;
	__u32 flags; /* BW_CFG_* */
	__u32 allowlist_scope[BW_MAX_ALLOWLISTS]; /* scope bit of allowlist i */
	__u32 allowlist_rule[BW_MAX_ALLOWLISTS];  /* rule id reported for allowlist i */
	__u32 allowlist_flags[BW_MAX_ALLOWLISTS]; /* BW_RULE_* */
	/* SHA-256 of the generation's rule table (what a record's rule_id
	 * means): a bulwarkd that adopts this generation and compiles the same
	 * table attributes the records of this generation too. */
	__u8 rules_digest[32];
	/* The rules for a file whose place in the tree the kernel does not
	 * know (a disconnected dentry: open_by_handle_at of a file that was not
	 * in the dentry cache), when the generation has directory rules or
	 * rules bound to paths on its filesystem: neither can be checked, so
	 * the strongest of them whose scope holds the task applies, capped at
	 * deny-all (nobody is killed for a rule that may not be theirs).  One
	 * per (scope, filesystem); with more pairs than entries, one entry for
	 * every task and filesystem, the strongest of all.  Any set:
	 * BW_CFG_UNPLACED. */
	struct bw_unplaced unplaced[BW_UNPLACED_RULES];
};

/* Per-generation filter of the identities of directory rules (file rules and
 * exec allowlists together), array map indexed by slot: one bit per
 * bw_dir_filter_bit(), and of the directories bw_names names.  An ancestor
 * walk looks an ancestor up in the hash maps (a file's parent, in bw_names)
 * only when its bit is set; a clear bit means "no directory rule here"
 * for certain, a set bit may be a collision (then the lookup decides).  It
 * spares the walk a hash lookup per level on almost every open. */
#define BW_DIR_FILTER_BITS 65536
#define BW_DIR_FILTER_SHIFT 16 /* log2(BW_DIR_FILTER_BITS) */
struct bw_dir_filter {
	__u64 words[BW_DIR_FILTER_BITS / 64];
};

/* The filter bit of identity (dev, ino): a multiplicative hash, the same
 * on both sides of the kernel boundary. */
static inline __u32 bw_dir_filter_bit(__u64 dev, __u64 ino)
{
	return (__u32)(((ino ^ (dev << 40)) * 0x9E3779B97F4A7C15ull) >> (64 - BW_DIR_FILTER_SHIFT));
}

/* Single-entry array: which slot is in force.  Written by the daemon in
 * one update; a program copies it once per hook (struct bw_view).  Valid
 * when magic is BW_STATE_MAGIC, active_slot < BW_SLOTS and the slot's
 * config is complete with the same generation.  Anything else (zero before
 * the first write, or garbage) makes the program fall back to the newest
 * complete slot ("last good") and count bad_state; never "allow all" in
 * silence. */
struct bw_state {
	__u32 magic;       /* BW_STATE_MAGIC */
	__u32 active_slot;
	__u32 generation;  /* generation of the active slot */
	__u32 abi;         /* BW_ABI_VERSION of the daemon that wrote it */
};

/* Per-CPU counters (array map, one entry), summed by the daemon.  Each
 * names something the kernel side could not do as the policy says; the
 * daemon reports every increase (status, journal, a `lost` audit record). */
struct bw_counters {
	__u64 events_emitted;  /* records submitted to the ring buffer */
	__u64 events_lost;     /* records that did not fit in the ring buffer */
	__u64 verdicts;        /* violations acted upon (denied, killed, audited) */
	__u64 dir_walk_truncated; /* ancestor walks stopped at BW_MAX_DIR_DEPTH */
	__u64 kill_failed;     /* bpf_send_signal(SIGKILL) returned an error */
	__u64 bad_state;       /* bw_state invalid: fell back to the newest complete slot */
	__u64 no_policy;       /* no complete slot at all: nothing could be matched */
	__u64 scope_bind_failed; /* a unit's new cgroup could not be bound to its scope (map full) */
};

/* Ring-buffer record.  `size` and `abi` let the daemon refuse anything it
 * would misread. */
struct bw_event {
	__u32 size; /* sizeof(struct bw_event) */
	__u16 abi;  /* BW_ABI_VERSION */
	__u16 kind; /* enum bw_event_kind */
	__u64 ts_boot_ns; /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u64 dev; /* kernel encoding */
	__u64 ino;
	__u32 pid;  /* process id (kernel tgid) */
	__u32 tid;  /* thread id (kernel pid) */
	__u32 ppid; /* parent's process id */
	__u32 uid;
	__u32 gid;
	__u32 verdict;    /* enum bw_verdict */
	__u32 action;     /* enum bw_file_action of the rule, BW_ACT_NONE for exec */
	__u32 rule_id;
	__u32 generation; /* policy generation the rule id belongs to */
	__u32 flags;      /* BW_EVF_* */
	__u32 open_flags; /* f_flags of the open (file events) */
	__u32 op;         /* enum bw_change_op (change events) */
	__s32 fd;         /* preexisting: the holder's descriptor; else -1 */
	__u32 arg;        /* tamper: the signal, ptrace mode or bpf() command (op); else 0 */
	char comm[BW_COMM_LEN];
	char path[BW_PATH_LEN];
};

#define BW_EVENT_SIZE 368

/* Inner map bw_mounts[slot]: a directory some rule's file lies below (its
 * identity is the key).  A mount over it (in the host's mount namespace)
 * would replace what the path serves, so it is refused (audited when every
 * rule below is in audit mode). */
struct bw_mount_guard {
	__u32 rule_id; /* a rule whose file lies below */
	__u8 action;   /* that rule's BW_ACT_* (for the record) */
	__u8 flags;    /* BW_RULE_AUDIT when no enforcing rule lies below */
	__u16 _pad;
};

/* bw_self.flags */
#define BW_SELF_PROTECT (1u << 0) /* LSM mode: refuse what only bulwarkd may do (selfProtection) */

/* The one running bulwarkd, single-entry array written by it at start-up
 * (an adopting bulwarkd overwrites it).  The kernel side trusts this task
 * alone with bulwark's own objects: its maps and programs (names starting
 * "bw_"), its links, its pin directory, its process.  When bulwarkd's
 * process is gone (tgid cleared by the kernel side when it exits), only
 * a process running one of the `exe` binaries may take over: the binary
 * that wrote this, or the one a restart found at its path (an upgrade).
 * docs/architecture.md, "Self-protection". */
struct bw_self {
	__u32 tgid;        /* bulwarkd's process id; 0: none runs */
	__u32 host_mnt_ns; /* inode number of the host's mount namespace (PID 1's) */
	__u32 flags;       /* BW_SELF_* */
	__u32 _pad;
	struct bw_file_key exe[2]; /* bulwarkd binaries (kernel dev encoding); 0/0: none */
	__u64 pin_dev;     /* the bpf filesystem of the pins (kernel dev encoding); 0: not pinned */
	__u64 pin_dirs[3]; /* inode numbers of pinDir, pinDir/maps, pinDir/links */
	/* When bulwarkd's process started, in clock ticks since boot (USER_HZ,
	 * /proc/PID/stat field 22): a later process given the same id is not it. */
	__u64 start_ticks;
};

/* Value of bw_self_files (key: struct bw_file_key): bulwark's own files —
 * the binary bulwarkd runs and the libraries it maps, bulwarkctl, the unit
 * and its drop-ins — which only bulwarkd and a trusted installer may change
 * (LSM mode, selfProtection), and the trusted installers' binaries. */
#define BW_SELF_FILE_GUARDED (1u << 0)   /* only bulwarkd and a trusted installer may change it */
#define BW_SELF_FILE_INSTALLER (1u << 1) /* a trusted installer (dpkg): may change guarded files */
#define BW_SELF_FILES_MAX 256

/* Inode storage of the LSM object: an inode some descriptor held open when
 * a generation came into force, and which a rule of that generation covered.
 * Reads, writes and maps of a marked inode are checked like an open; of any
 * other inode they cost one storage lookup (docs/architecture.md,
 * "Descriptors opened earlier"). */
struct bw_mark {
	__u32 generation; /* the generation that marked it */
	__u32 _pad;
};

/* What the preexisting-descriptor iterator writes to its seq file per
 * descriptor it reported: the daemon takes each (pidfd_getfd) so that the
 * LSM program marks its inode. */
struct bw_preexisting {
	__u32 tgid;
	__s32 fd;
};

#ifdef __cplusplus
static_assert(sizeof(struct bw_file_key) == 16, "bw_file_key layout");
static_assert(sizeof(struct bw_file_rule) == 24, "bw_file_rule layout");
static_assert(sizeof(struct bw_exec_allow) == 16, "bw_exec_allow layout");
static_assert(sizeof(struct bw_name_key) == 32, "bw_name_key layout");
static_assert(sizeof(struct bw_content_change) == 8, "bw_content_change layout");
static_assert(sizeof(struct bw_installed) == 16, "bw_installed layout");
static_assert(sizeof(struct bw_gen_config) == 16 + 3 * 4 * BW_MAX_ALLOWLISTS + 32 + 32 * BW_UNPLACED_RULES, "bw_gen_config layout");
static_assert(sizeof(struct bw_event) == BW_EVENT_SIZE, "bw_event layout");
static_assert(sizeof(struct bw_counters) == 64, "bw_counters layout");
static_assert(sizeof(struct bw_state) == 16, "bw_state layout");
static_assert(sizeof(struct bw_dir_filter) == BW_DIR_FILTER_BITS / 8, "bw_dir_filter layout");
static_assert(sizeof(struct bw_self) == 88, "bw_self layout");
static_assert(sizeof(struct bw_mount_guard) == 8, "bw_mount_guard layout");
static_assert(sizeof(struct bw_mark) == 8, "bw_mark layout");
static_assert(sizeof(struct bw_unplaced) == 32, "bw_unplaced layout");
static_assert(sizeof(struct bw_preexisting) == 8, "bw_preexisting layout");
#else
_Static_assert(sizeof(struct bw_file_key) == 16, "bw_file_key layout");
_Static_assert(sizeof(struct bw_file_rule) == 24, "bw_file_rule layout");
_Static_assert(sizeof(struct bw_exec_allow) == 16, "bw_exec_allow layout");
_Static_assert(sizeof(struct bw_name_key) == 32, "bw_name_key layout");
_Static_assert(sizeof(struct bw_content_change) == 8, "bw_content_change layout");
_Static_assert(sizeof(struct bw_installed) == 16, "bw_installed layout");
_Static_assert(sizeof(struct bw_gen_config) == 16 + 3 * 4 * BW_MAX_ALLOWLISTS + 32 + 32 * BW_UNPLACED_RULES, "bw_gen_config layout");
_Static_assert(sizeof(struct bw_event) == BW_EVENT_SIZE, "bw_event layout");
_Static_assert(sizeof(struct bw_counters) == 64, "bw_counters layout");
_Static_assert(sizeof(struct bw_state) == 16, "bw_state layout");
_Static_assert(sizeof(struct bw_dir_filter) == BW_DIR_FILTER_BITS / 8, "bw_dir_filter layout");
_Static_assert(sizeof(struct bw_self) == 88, "bw_self layout");
_Static_assert(sizeof(struct bw_mount_guard) == 8, "bw_mount_guard layout");
_Static_assert(sizeof(struct bw_mark) == 8, "bw_mark layout");
_Static_assert(sizeof(struct bw_unplaced) == 32, "bw_unplaced layout");
_Static_assert(sizeof(struct bw_preexisting) == 8, "bw_preexisting layout");
#endif

/* Where a btrfs inode keeps its subvolume's device (bpf/identity.bpf.h):
 * byte offsets the daemon reads from the btrfs module's BTF
 * (/sys/kernel/btf/btrfs, or vmlinux's when btrfs is built in) and writes
 * into each BPF object's read-only data before loading it.  known = 0: no
 * btrfs types, btrfs files keep their superblock's device. */
struct bw_btrfs_layout {
	__u32 known;
	__u32 inode_vfs_inode; /* struct btrfs_inode: its struct inode */
	__u32 inode_root;      /* struct btrfs_inode: struct btrfs_root *root */
	__u32 root_anon_dev;   /* struct btrfs_root: dev_t anon_dev */
};

/* Kernel dev_t encoding (include/linux/kdev_t.h: MINORBITS 20). */
#define BW_KDEV_MINORBITS 20
#define BW_KDEV_MINORMASK ((1u << BW_KDEV_MINORBITS) - 1)

#endif /* BULWARK_ABI_H */
