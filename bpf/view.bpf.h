/* SPDX-License-Identifier: GPL-2.0 */
/*
 * view.bpf.h — the generation a hook decides by, read once.
 *
 * A hook calls bw_view_get() once and passes the view to everything it
 * does (also a hook that checks two objects, like inode_rename): the slot,
 * its config, its inner maps and its directory filter all come from one
 * copy of bw_state, so a hook never mixes two generations.  The daemon
 * writes a slot only while no program can reach it (bw_state points to the
 * other one and an RCU grace period has passed since, see maps.bpf.h's
 * bw_fence), so the slot a view names stays whole until the hook returns.
 *
 * A state the daemon did not write (zero, garbage, a slot out of range, a
 * generation its slot does not hold) is not "allow everything": the view
 * falls back to the newest complete slot (last good) and counts bad_state;
 * with no complete slot at all it counts no_policy and matches nothing.
 */
#ifndef BULWARK_VIEW_BPF_H
#define BULWARK_VIEW_BPF_H

#include "maps.bpf.h"

struct bw_view {
	__u32 slot;
	__u32 generation;
	struct bw_gen_config *cfg;   /* never NULL in a view bw_view_get returned */
	struct bw_dir_filter *filter; /* never NULL either */
};

static __always_inline bool bw_slot_complete(struct bw_gen_config *cfg)
{
	return cfg && cfg->magic == BW_STATE_MAGIC && cfg->generation != 0;
}

/* Copies bw_state once and, when the copy names a complete slot holding
 * its generation, sets *slot and *cfg to it. */
static __always_inline bool bw_state_read(struct bw_state *st, __u32 *slot, struct bw_gen_config **cfg)
{
	struct bw_state s = {};

	if (st)
		s = *st;
	if (s.magic != BW_STATE_MAGIC || s.active_slot >= BW_SLOTS)
		return false;
	*slot = s.active_slot;
	*cfg = bpf_map_lookup_elem(&bw_config, slot);
	return bw_slot_complete(*cfg) && (*cfg)->generation == s.generation;
}

/* False: no generation to decide by (the hook allows; counted). */
static __always_inline bool bw_view_get(struct bw_view *v)
{
	__u32 zero = 0, one = 1, slot = 0;
	struct bw_state *st = bpf_map_lookup_elem(&bw_state, &zero);
	struct bw_gen_config *c0, *c1;

	/* One copy decides.  The daemon's update of bw_state is a copy, not
	 * atomic: a read that overlaps it may mix two states, so an invalid
	 * copy is read once more before it counts. */
	if (bw_state_read(st, &slot, &v->cfg) || bw_state_read(st, &slot, &v->cfg))
		goto found;
	/* Last good: the newest complete slot. */
	c0 = bpf_map_lookup_elem(&bw_config, &zero);
	c1 = bpf_map_lookup_elem(&bw_config, &one);
	if (bw_slot_complete(c0) && (!bw_slot_complete(c1) || c0->generation > c1->generation)) {
		slot = 0;
		v->cfg = c0;
	} else if (bw_slot_complete(c1)) {
		slot = 1;
		v->cfg = c1;
	} else {
		bw_count(BW_COUNT_NO_POLICY);
		return false;
	}
	bw_count(BW_COUNT_BAD_STATE);
found:
	if (!v->cfg)
		return false;
	v->filter = bpf_map_lookup_elem(&bw_dir_filter, &slot);
	if (!v->filter)
		return false;
	v->slot = slot;
	v->generation = v->cfg->generation;
	return true;
}

#endif /* BULWARK_VIEW_BPF_H */
