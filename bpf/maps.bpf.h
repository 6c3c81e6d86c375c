/* SPDX-License-Identifier: GPL-2.0 */
/*
 * maps.bpf.h — every map of bulwark's BPF programs, and nothing else but the
 * one accessor of the counters.  Both objects (lsm, tracepoint) include it,
 * so both have the same maps with the same names: the daemon pins them
 * under /sys/fs/bpf/bulwark/maps/ and a later bulwarkd, in either mode,
 * reuses them (daemon/pins.cpp).
 *
 * The policy lives in two generations ("slots") of inner hash maps reached
 * through array-of-maps, plus a per-slot config and directory filter;
 * bw_state says which slot is in force.  How a program reads them once per
 * hook is view.bpf.h.
 */
#ifndef BULWARK_MAPS_BPF_H
#define BULWARK_MAPS_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "kernel_types.h"
#include "bulwark_abi.h"

/* Inner map templates: the daemon creates a fresh set per policy generation,
 * sized to the policy (key and value sizes must match these). */

struct bw_files_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct bw_file_key));
	__uint(value_size, sizeof(struct bw_file_rule));
};

struct bw_names_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct bw_name_key));
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

struct bw_units_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct bw_unit_key));
	__uint(value_size, sizeof(struct bw_scope_mask));
};

struct bw_mounts_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct bw_file_key));
	__uint(value_size, sizeof(struct bw_mount_guard));
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
	__array(values, struct bw_names_inner);
} bw_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, BW_SLOTS);
	__type(key, __u32);
	__array(values, struct bw_mounts_inner);
} bw_mounts SEC(".maps");

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
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, BW_SLOTS);
	__type(key, __u32);
	__array(values, struct bw_units_inner);
} bw_units SEC(".maps");

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
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_self);
} bw_self SEC(".maps");

/* bulwark's own files and the trusted installers (BW_SELF_FILE_*), written
 * by bulwarkd; read by the LSM object's self-protection (self.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BW_SELF_FILES_MAX);
	__type(key, struct bw_file_key);
	__type(value, __u32);
} bw_self_files SEC(".maps");

/* Trust follows content (bulwark_abi.h, bpf/content.bpf.h): written by the
 * LSM object; read by every exec check. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BW_CONTENT_CHANGES_MAX);
	__type(key, struct bw_file_key);
	__type(value, struct bw_content_change);
} bw_exec_changed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BW_INSTALLED_MAX);
	__type(key, struct bw_file_key);
	__type(value, struct bw_installed);
} bw_exec_installed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by the daemon before load */
} bw_events SEC(".maps");

/* Never read by a program.  Updating an array-of-maps entry makes the
 * kernel wait for an RCU grace period before the bpf() call returns
 * (kernel/bpf/syscall.c, maybe_wait_bpf_programs): the daemon's fence,
 * after which no program still runs on a slot it just switched away from. */
struct bw_fence_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct bw_fence_inner);
} bw_fence SEC(".maps");

/* Every struct of bulwark_abi.h, so that each appears in the object's BTF:
 * the abi test tier (tests/abi) checks their layout against the daemon's. */
const volatile struct {
	struct bw_event event;
	struct bw_file_key file_key;
	struct bw_file_rule file_rule;
	struct bw_name_key name_key;
	struct bw_content_change content_change;
	struct bw_installed installed;
	struct bw_exec_allow exec_allow;
	struct bw_scope_mask scope_mask;
	struct bw_gen_config gen_config;
	struct bw_state state;
	struct bw_counters counters;
	struct bw_dir_filter dir_filter;
	struct bw_self self;
	struct bw_mount_guard mount_guard;
	struct bw_mark mark;
	struct bw_preexisting preexisting;
} bw_abi_types = {};

/* Is the current task the running bulwarkd (bw_self)? */
static __always_inline bool bw_current_is_self(void)
{
	__u32 zero = 0;
	struct bw_self *self = bpf_map_lookup_elem(&bw_self, &zero);

	return self && self->tgid && self->tgid == (__u32)(bpf_get_current_pid_tgid() >> 32);
}

enum bw_counter_field {
	BW_COUNT_EMITTED,
	BW_COUNT_LOST,
	BW_COUNT_VERDICT,
	BW_COUNT_DIR_TRUNCATED,
	BW_COUNT_KILL_FAILED,
	BW_COUNT_BAD_STATE,
	BW_COUNT_NO_POLICY,
	BW_COUNT_SCOPE_BIND_FAILED,
};

static __always_inline void bw_count(enum bw_counter_field field)
{
	__u32 zero = 0;
	struct bw_counters *c = bpf_map_lookup_elem(&bw_counters, &zero);

	if (!c)
		return;
	switch (field) {
	case BW_COUNT_EMITTED: c->events_emitted++; break;
	case BW_COUNT_LOST: c->events_lost++; break;
	case BW_COUNT_VERDICT: c->verdicts++; break;
	case BW_COUNT_DIR_TRUNCATED: c->dir_walk_truncated++; break;
	case BW_COUNT_KILL_FAILED: c->kill_failed++; break;
	case BW_COUNT_BAD_STATE: c->bad_state++; break;
	case BW_COUNT_NO_POLICY: c->no_policy++; break;
	case BW_COUNT_SCOPE_BIND_FAILED: c->scope_bind_failed++; break;
	}
}

/* Walks are fully unrolled: no back-edges for the verifier (6.1 refuses some
 * bounded loops whose head follows a helper call). */
#define BW_UNROLL _Pragma("clang loop unroll(full)")

#endif /* BULWARK_MAPS_BPF_H */
