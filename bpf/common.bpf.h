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

static __always_inline struct bw_file_key bw_key_of_inode(struct inode *inode)
{
	struct bw_file_key key = {};

	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	return key;
}

/* Per-CPU scratch for bw_task_scopes: accumulating in a map value (which the
 * verifier does not track) instead of a register keeps the ancestor walk's
 * verification linear instead of branching on every level. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_scope_mask);
} bw_scratch SEC(".maps");

/* Scope bits of the current task: bit 0 (host) always, plus the bits of
 * every cgroup from the root down to the task's own (bounded walk). */
static __always_inline __u64 bw_task_scopes(__u32 slot)
{
	__u32 zero = 0;
	struct bw_scope_mask *acc = bpf_map_lookup_elem(&bw_scratch, &zero);
	void *scopes = bpf_map_lookup_elem(&bw_scopes, &slot);
	int level;

	if (!acc)
		return 1ull << BW_SCOPE_HOST;
	acc->scopes = 1ull << BW_SCOPE_HOST;
	if (!scopes)
		return acc->scopes;
	for (level = 0; level < BW_MAX_CGROUP_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);
		struct bw_scope_mask *m;

		if (!id)
			break;
		m = bpf_map_lookup_elem(scopes, &id);
		if (m)
			acc->scopes |= m->scopes;
	}
	return acc->scopes;
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
	else
		c->verdicts++;
}

#define BW_COUNT_EMITTED 0
#define BW_COUNT_LOST 1
#define BW_COUNT_VERDICT 2

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
	ev->_pad = 0;
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

static __always_inline void bw_event_submit(struct bw_event *ev)
{
	bpf_ringbuf_submit(ev, 0);
	bw_count(BW_COUNT_EMITTED);
}

static __always_inline __u32 bw_generation(__u32 slot)
{
	struct bw_gen_config *cfg = bpf_map_lookup_elem(&bw_config, &slot);

	return cfg ? cfg->generation : 0;
}

#endif /* BULWARK_COMMON_BPF_H */
