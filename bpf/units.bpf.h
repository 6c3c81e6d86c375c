/* SPDX-License-Identifier: GPL-2.0 */
/*
 * units.bpf.h — scopes follow their units.  The compiler resolves a scope's
 * units to the cgroups that exist then; a unit started or restarted later
 * gets a new cgroup with a new id.  systemd creates that cgroup (named like
 * the unit) before it puts the unit's first process in it, so binding it at
 * creation puts the unit's processes in scope from their first instruction.
 *
 * On every cgroup v2 mkdir, the name is looked up in each slot's bw_units
 * (unit name -> scope bits, written by the daemon with the generation) and a
 * match adds the new cgroup's id to that slot's bw_scopes, flagged
 * BW_SCOPE_F_LIVE.  Both slots: a generation being written gets the cgroups
 * created from the moment its bw_units is installed, the daemon binds the
 * earlier ones itself before it switches (daemon/scope_binder.cpp).  rmdir
 * removes the live entries again, so a unit restarting all day does not
 * fill the map.  Both BPF objects include this file: it needs tracepoints
 * only.
 */
#ifndef BULWARK_UNITS_BPF_H
#define BULWARK_UNITS_BPF_H

#include "maps.bpf.h"

/* The name (NUL-padded) of `cgrp` when it is on the cgroup v2 hierarchy. */
static __always_inline bool bw_unit_name(struct cgroup *cgrp, struct bw_unit_key *key)
{
	if (!cgrp || cgrp->root->hierarchy_id != 0)
		return false; /* a cgroup v1 hierarchy: its ids are not v2's */
	__builtin_memset(key, 0, sizeof(*key));
	return bpf_probe_read_kernel_str(key->name, sizeof(key->name), cgrp->kn->name) > 1;
}

/* Binds cgroup `id` (named `key`) in slot `slot`'s scopes when a scope of
 * that slot names the unit. */
static __always_inline void bw_unit_bind(__u32 slot, struct bw_unit_key *key, __u64 id)
{
	void *units = bpf_map_lookup_elem(&bw_units, &slot);
	void *scopes = bpf_map_lookup_elem(&bw_scopes, &slot);
	struct bw_scope_mask *m, *have, live = {};

	if (!units || !scopes)
		return;
	m = bpf_map_lookup_elem(units, key);
	if (!m)
		return;
	live.scopes = m->scopes;
	live.flags = BW_SCOPE_F_LIVE;
	have = bpf_map_lookup_elem(scopes, &id);
	if (have)
		live.scopes |= have->scopes;
	if (bpf_map_update_elem(scopes, &id, &live, BPF_ANY))
		bw_count(BW_COUNT_SCOPE_BIND_FAILED);
}

/* Removes what bw_unit_bind added for cgroup `id` from slot `slot`. */
static __always_inline void bw_unit_unbind(__u32 slot, __u64 id)
{
	void *scopes = bpf_map_lookup_elem(&bw_scopes, &slot);
	struct bw_scope_mask *have = scopes ? bpf_map_lookup_elem(scopes, &id) : NULL;

	if (have && (have->flags & BW_SCOPE_F_LIVE))
		bpf_map_delete_elem(scopes, &id);
}

#if BW_SLOTS != 2
#error "the cgroup programs below bind in exactly two slots"
#endif

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(bw_tp_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct bw_unit_key key;

	if (!bw_unit_name(cgrp, &key))
		return 0;
	bw_unit_bind(0, &key, cgrp->kn->id);
	bw_unit_bind(1, &key, cgrp->kn->id);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(bw_tp_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	struct bw_unit_key key;

	if (!bw_unit_name(cgrp, &key))
		return 0;
	bw_unit_unbind(0, cgrp->kn->id);
	bw_unit_unbind(1, cgrp->kn->id);
	return 0;
}

#endif /* BULWARK_UNITS_BPF_H */
