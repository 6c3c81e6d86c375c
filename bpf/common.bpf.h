/* SPDX-License-Identifier: GPL-2.0 */
/*
 * common.bpf.h — maps and helpers shared by bulwark's BPF programs.
 *
 * The policy lives in two generations ("slots") of inner hash maps reached
 * through array-of-maps; bw_state says which slot is in force.  A program
 * reads the slot once and uses only that slot's maps, so it sees either the
 * whole old or the whole new policy.
 */
#ifndef BULWARK_COMMON_BPF_H
#define BULWARK_COMMON_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "kernel_types.h"
#include "bulwark_abi.h"

/* Walks are fully unrolled: no back-edges for the verifier (6.1 refuses some
 * bounded loops whose head follows a helper call). */
#define BW_UNROLL _Pragma("clang loop unroll(full)")

/* ------------------------------------------------------------------ maps */

/* Inner map templates: the daemon creates a fresh set per policy generation,
 * sized to the policy (key and value sizes must match these). */

struct bw_files_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct bw_file_key));
	__uint(value_size, sizeof(struct bw_file_rule));
};

struct bw_exec_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct bw_file_key));
	__uint(value_size, sizeof(struct bw_exec_allow));
};

struct bw_scopes_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u64));
	__uint(value_size, sizeof(struct bw_scope_mask));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, BW_SLOTS);
	__type(key, __u32);
	__array(values, struct bw_files_inner);
} bw_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, BW_SLOTS);
	__type(key, __u32);
	__array(values, struct bw_exec_inner);
} bw_exec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, BW_SLOTS);
	__type(key, __u32);
	__array(values, struct bw_scopes_inner);
} bw_scopes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BW_SLOTS);
	__type(key, __u32);
	__type(value, struct bw_gen_config);
} bw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BW_SLOTS);
	__type(key, __u32);
	__type(value, struct bw_dir_filter);
} bw_dir_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_state);
} bw_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_counters);
} bw_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by the daemon before load */
} bw_events SEC(".maps");

/* Every struct of bulwark_abi.h, so that each appears in the object's BTF:
 * the abi test tier (tests/abi) checks their layout against the daemon's. */
const volatile struct {
	struct bw_event event;
	struct bw_file_key file_key;
	struct bw_file_rule file_rule;
	struct bw_exec_allow exec_allow;
	struct bw_scope_mask scope_mask;
	struct bw_gen_config gen_config;
	struct bw_state state;
	struct bw_counters counters;
	struct bw_dir_filter dir_filter;
} bw_abi_types = {};

/* --------------------------------------------------------------- helpers */

/* The slot in force, or -1 before the daemon has loaded any policy. */
static __always_inline int bw_active_slot(void)
{
	__u32 zero = 0;
	struct bw_state *st = bpf_map_lookup_elem(&bw_state, &zero);

	if (!st || st->active_slot >= BW_SLOTS)
		return -1;
	return (int)st->active_slot;
}

/* The identity of `inode`, a BTF pointer (see BW_LD_DIRECT below). */
static __always_inline struct bw_file_key bw_key_of_inode(struct inode *inode)
{
	struct bw_file_key key = {};

	if (!inode)
		return key; /* negative dentry: matches nothing */
	key.dev = inode->i_sb->s_dev;
	key.ino = inode->i_ino;
	return key;
}

static __always_inline void bw_count(int field)
{
	__u32 zero = 0;
	struct bw_counters *c = bpf_map_lookup_elem(&bw_counters, &zero);

	if (!c)
		return;
	if (field == 0)
		c->events_emitted++;
	else if (field == 1)
		c->events_lost++;
	else if (field == 2)
		c->verdicts++;
	else
		c->dir_walk_truncated++;
}

#define BW_COUNT_EMITTED 0
#define BW_COUNT_LOST 1
#define BW_COUNT_VERDICT 2
#define BW_COUNT_DIR_TRUNCATED 3

/* Per-CPU scratch.  Accumulating in a map value (which the verifier does not
 * track) instead of in registers keeps the verification of the bounded walks
 * linear instead of branching on every step. */
struct bw_scratch {
	__u64 scopes;              /* bw_in_scope: task's scope bits */
	__u64 allowed;             /* exec: allowlist bits found on the file and its ancestors */
	struct bw_file_rule rule;  /* bw_match: strongest applicable rule so far */
	__u32 strength;            /* its strength, 0 = none */
	__u32 dir_match;           /* it came from an ancestor directory */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_scratch);
} bw_scratch SEC(".maps");

static __always_inline struct bw_scratch *bw_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bw_scratch, &zero);
}

/* The scope bits (of the policy in `slot`) that hold the current task:
 * bit BW_SCOPE_HOST always, and the bits of every cgroup on the task's
 * path from the root down (bounded).  A global function: verified once, on
 * its own. */
__noinline __u64 bw_task_scopes(__u32 slot)
{
	struct bw_scratch *sc = bw_scratch_get();
	void *scopes;
	int level;

	if (!sc)
		return 1ull << BW_SCOPE_HOST;
	sc->scopes = 1ull << BW_SCOPE_HOST;
	scopes = bpf_map_lookup_elem(&bw_scopes, &slot);
	if (!scopes)
		return sc->scopes;
	BW_UNROLL
	for (level = 0; level < BW_MAX_CGROUP_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);
		struct bw_scope_mask *m;

		if (!id)
			break;
		m = bpf_map_lookup_elem(scopes, &id);
		if (m)
			sc->scopes |= m->scopes;
	}
	return sc->scopes;
}

/* Is the current task inside scope bit `scope`? */
static __always_inline int bw_in_scope(__u32 slot, __u32 scope)
{
	if (scope == BW_SCOPE_HOST)
		return 1;
	if (scope >= BW_MAX_SCOPES)
		return 0;
	return (bw_task_scopes(slot) >> scope) & 1;
}

/* Rule strength for precedence: an enforcing rule beats an auditing one;
 * within a mode the stronger action wins (kill > deny all > deny write).
 * Never 0 for a real rule. */
static __always_inline __u32 bw_strength(const struct bw_file_rule *r)
{
	return ((r->flags & BW_RULE_AUDIT) ? 0 : 4) + r->action;
}

static __always_inline struct bw_gen_config *bw_config_of(__u32 slot)
{
	return bpf_map_lookup_elem(&bw_config, &slot);
}

/* May (dev, ino) be a directory rule's identity?  False is certain; true
 * asks for the hash lookup.  No filter (cannot happen): always true. */
static __always_inline bool bw_dir_maybe(struct bw_dir_filter *flt, __u64 dev, __u64 ino)
{
	__u32 bit = bw_dir_filter_bit(dev, ino);

	if (!flt)
		return true;
	return (flt->words[(bit >> 6) & (BW_DIR_FILTER_BITS / 64 - 1)] >> (bit & 63)) & 1;
}

/* Does the policy in `slot` have any file rule?  Lets the tracepoint
 * program skip resolving descriptors while the policy has none. */
static __always_inline bool bw_has_file_rules(__u32 slot)
{
	struct bw_gen_config *cfg = bw_config_of(slot);

	return cfg && (cfg->flags & BW_CFG_FILES);
}

/* How kernel memory is read.  Every program here is BTF-typed (lsm,
 * tp_btf): pointers reached from their arguments are read directly
 * (BW_LD_DIRECT: one load each, a fault reads as 0).  A pointer that came
 * out of bpf_probe_read_kernel is a plain number to the verifier and must be
 * read with probe reads (BW_LD_PROBE: a helper call each) -- the tracepoint
 * program's fallback for kernels without bpf_rdonly_cast (before 6.2). */
#define BW_LD_DIRECT(p, field) ((p)->field)
#define BW_LD_PROBE(p, field) BPF_CORE_READ(p, field)

/* BW_DEFINE_MATCH(fn, LD) defines
 *   struct bw_scratch *fn(__u32 slot, struct dentry *dentry)
 * reading kernel memory with LD: the strongest applicable rule for
 * `dentry`: its own identity, then (when the policy has directory rules)
 * each ancestor directory up to BW_MAX_DIR_DEPTH levels, within the
 * dentry's filesystem (so the device half of the key is read once).  NULL
 * if none. */
#define BW_DEFINE_MATCH(fn, LD)                                                        \
static __always_inline struct bw_scratch *fn(__u32 slot, struct dentry *dentry)        \
{                                                                                      \
	struct bw_scratch *sc = bw_scratch_get();                                      \
	struct bw_gen_config *cfg = bw_config_of(slot);                                \
	void *files = bpf_map_lookup_elem(&bw_files, &slot);                           \
	struct bw_dir_filter *flt = bpf_map_lookup_elem(&bw_dir_filter, &slot);        \
	struct bw_file_key key = {};                                                   \
	struct dentry *d = dentry;                                                     \
	struct super_block *sb;                                                        \
	struct inode *inode;                                                           \
	int depth, max_depth;                                                          \
                                                                                       \
	if (!sc || !cfg || !files || !dentry || !(cfg->flags & BW_CFG_FILES))          \
		return NULL;                                                           \
	inode = LD(dentry, d_inode);                                                   \
	if (!inode)                                                                    \
		return NULL; /* negative dentry: matches nothing */                    \
	sb = LD(inode, i_sb);                                                          \
	key.dev = LD(sb, s_dev);                                                       \
	sc->strength = 0;                                                              \
	sc->dir_match = 0;                                                             \
	max_depth = (cfg->flags & BW_CFG_FILE_DIRS) ? BW_MAX_DIR_DEPTH : 0;            \
                                                                                       \
	BW_UNROLL                                                                      \
	for (depth = 0; depth <= BW_MAX_DIR_DEPTH; depth++) {                          \
		struct bw_file_rule *r;                                                \
		struct dentry *parent;                                                 \
                                                                                       \
		key.ino = LD(inode, i_ino);                                            \
		/* ancestors: only those the filter does not rule out */               \
		r = depth == 0 || bw_dir_maybe(flt, key.dev, key.ino) ?                \
			    bpf_map_lookup_elem(files, &key) : NULL;                   \
		if (r && bw_strength(r) > sc->strength && bw_in_scope(slot, r->scope)) { \
			sc->rule = *r;                                                 \
			sc->strength = bw_strength(r);                                 \
			sc->dir_match = depth > 0;                                     \
		}                                                                      \
		parent = LD(d, d_parent);                                              \
		if (!parent || parent == d)                                            \
			break; /* root of this filesystem */                           \
		if (depth >= max_depth) {                                              \
			if (max_depth) /* ancestors left unchecked */                  \
				bw_count(BW_COUNT_DIR_TRUNCATED);                      \
			break;                                                         \
		}                                                                      \
		d = parent;                                                            \
		inode = LD(d, d_inode);                                                \
		if (!inode)                                                            \
			break;                                                         \
	}                                                                              \
	return sc->strength ? sc : NULL;                                               \
}

BW_DEFINE_MATCH(bw_match, BW_LD_DIRECT)


/* Reserve an event and fill the fields every event has.  NULL (and the loss
 * counted) when the ring buffer is full. */
static __always_inline struct bw_event *bw_event_start(__u16 kind, struct bw_file_key *key)
{
	struct bw_event *ev = bpf_ringbuf_reserve(&bw_events, sizeof(*ev), 0);
	struct task_struct *task;
	__u64 pid_tgid, uid_gid;

	if (!ev) {
		bw_count(BW_COUNT_LOST);
		return NULL;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	uid_gid = bpf_get_current_uid_gid();
	task = (struct task_struct *)bpf_get_current_task();

	ev->size = sizeof(*ev);
	ev->abi = BW_ABI_VERSION;
	ev->kind = kind;
	ev->ts_boot_ns = bpf_ktime_get_boot_ns();
	ev->cgroup_id = bpf_get_current_cgroup_id();
	ev->dev = key->dev;
	ev->ino = key->ino;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = (__u32)uid_gid;
	ev->gid = uid_gid >> 32;
	ev->verdict = 0;
	ev->action = BW_ACT_NONE;
	ev->rule_id = 0;
	ev->generation = 0;
	ev->flags = 0;
	ev->open_flags = 0;
	ev->op = BW_OP_NONE;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->path[0] = 0;
	return ev;
}

static __always_inline void bw_event_path(struct bw_event *ev, struct path *path)
{
	long n = bpf_d_path(path, ev->path, sizeof(ev->path));

	if (n < 0) {
		ev->path[0] = 0;
		ev->flags |= (n == -36 /* ENAMETOOLONG */) ? BW_EVF_PATH_TRUNCATED : BW_EVF_PATH_MISSING;
	}
}

/* The exec allowlist verdict for the file at `dentry`. */
struct bw_exec_hit {
	__u32 rule_id;    /* rule of the (first) allowlist the file is missing from */
	__u32 generation;
	bool enforce;     /* an enforcing allowlist refuses it (else: audit only) */
};

/* True when the file is missing from an allowlist whose scope holds the
 * task: it must be in every such allowlist (its own entry, or an ancestor
 * directory's when the allowlists name directories). */
static __always_inline bool bw_exec_check(__u32 slot, struct dentry *dentry, struct bw_exec_hit *hit)
{
	struct bw_gen_config *cfg = bw_config_of(slot);
	struct bw_scratch *sc = bw_scratch_get();
	__u64 required = 0, audit = 0, missing, enforce, hunt, task_scopes;
	struct dentry *d = dentry;
	__u32 n, i, first = 0;
	int depth, max_depth;
	void *exec;

	if (!cfg || !sc || cfg->n_allowlists == 0 || !dentry)
		return false;
	n = cfg->n_allowlists;
	sc->allowed = 0;
	exec = bpf_map_lookup_elem(&bw_exec, &slot);
	max_depth = (cfg->flags & BW_CFG_EXEC_DIRS) ? BW_MAX_DIR_DEPTH : 0;
	if (exec && d->d_inode) {
		struct bw_dir_filter *flt = bpf_map_lookup_elem(&bw_dir_filter, &slot);
		struct bw_file_key k = {};
		struct inode *inode = d->d_inode;

		k.dev = inode->i_sb->s_dev;
		BW_UNROLL
		for (depth = 0; depth <= BW_MAX_DIR_DEPTH; depth++) {
			struct bw_exec_allow *allow;
			struct dentry *parent;

			k.ino = inode->i_ino;
			allow = depth == 0 || bw_dir_maybe(flt, k.dev, k.ino) ? bpf_map_lookup_elem(exec, &k) : NULL;
			if (allow)
				sc->allowed |= allow->allowlists;
			parent = d->d_parent;
			if (!parent || parent == d)
				break;
			if (depth >= max_depth) {
				if (max_depth)
					bw_count(BW_COUNT_DIR_TRUNCATED); /* ancestors left unchecked */
				break;
			}
			d = parent;
			inode = d->d_inode;
			if (!inode)
				break;
		}
	}

	/* The task's scopes once, then branch-free over all slots so
	 * verification stays linear. */
	task_scopes = bw_task_scopes(slot);
	for (i = 0; i < BW_MAX_ALLOWLISTS; i++) {
		__u32 scope = cfg->allowlist_scope[i] & (BW_MAX_SCOPES - 1);
		__u64 in_scope = i < n ? (task_scopes >> scope) & 1 : 0;

		required |= in_scope << i;
		audit |= (__u64)(cfg->allowlist_flags[i] & BW_RULE_AUDIT) << i;
	}
	missing = required & ~sc->allowed;
	if (!missing)
		return false;
	enforce = missing & ~audit;
	hunt = enforce ? enforce : missing;
	for (i = 0; i < BW_MAX_ALLOWLISTS; i++) {
		if (hunt & (1ull << i)) {
			first = i;
			break;
		}
	}
	hit->rule_id = cfg->allowlist_rule[first & (BW_MAX_ALLOWLISTS - 1)];
	hit->generation = cfg->generation;
	hit->enforce = enforce != 0;
	return true;
}

static __always_inline void bw_event_submit(struct bw_event *ev)
{
	bpf_ringbuf_submit(ev, 0);
	bw_count(BW_COUNT_EMITTED);
}

static __always_inline __u32 bw_generation(__u32 slot)
{
	struct bw_gen_config *cfg = bw_config_of(slot);

	return cfg ? cfg->generation : 0;
}

/* When the hook has no struct path: the file's own name only
 * (dentry->d_name.name). */
static __always_inline void bw_event_name(struct bw_event *ev, const unsigned char *name)
{
	if (bpf_probe_read_kernel_str(ev->path, sizeof(ev->path), name) < 0) {
		ev->path[0] = 0;
		ev->flags |= BW_EVF_PATH_MISSING;
		return;
	}
	ev->flags |= BW_EVF_NAME_ONLY;
}

#endif /* BULWARK_COMMON_BPF_H */
