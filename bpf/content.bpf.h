/* SPDX-License-Identifier: GPL-2.0 */
/*
 * content.bpf.h — trust follows content (LSM mode).  An exec allowlist
 * trusts a file as it was when the policy was compiled.  Written in place
 * afterwards (opened for writing, truncated) by anyone but a trusted
 * installer, its own allowlist entry stops counting (bw_exec_changed); a
 * file a trusted installer renames over an allowlisted one takes its
 * allowlists (bw_exec_installed), so a package upgrade keeps the program
 * runnable with no reload.  The exec check reads both maps in the one walk
 * (walk.bpf.h).  The trusted installers: bw_current_is_installer
 * (self.bpf.h).
 */
#ifndef BULWARK_CONTENT_BPF_H
#define BULWARK_CONTENT_BPF_H

#include "self.bpf.h"
#include "walk.bpf.h"

/* The allowlists the generation in force gives `inode` by its own entry
 * (compiled, or installed since): 0 when it has none. */
static __always_inline __u64 bw_exec_own_bits(const struct bw_view *v, struct inode *inode,
					      struct bw_file_key *key)
{
	return bw_exec_entry_bits(v->slot, v->generation, key, inode->i_generation, true);
}

/* `inode` is about to be written in place.  An allowlisted file loses its
 * trust; when that cannot be remembered (the map is full) the write is
 * refused: failing open here would let changed bytes run as trusted. */
static __always_inline int bw_content_write(struct inode *inode)
{
	struct bw_content_change c = {}, *old;
	struct bw_file_key key;
	struct bw_view v;

	if (!inode || !bw_view_get(&v) || v.cfg->n_allowlists == 0)
		return 0;
	key = bw_key_of_inode(inode);
	if (!bw_exec_own_bits(&v, inode, &key))
		return 0;
	if (bw_current_is_installer()) {
		bpf_map_delete_elem(&bw_exec_changed, &key); /* its bytes are the installer's now */
		return 0;
	}
	old = bpf_map_lookup_elem(&bw_exec_changed, &key);
	if (old && old->igen == inode->i_generation)
		return 0;
	c.igen = inode->i_generation;
	c.tgid = bpf_get_current_pid_tgid() >> 32;
	return bpf_map_update_elem(&bw_exec_changed, &key, &c, BPF_ANY) ? -BW_EPERM : 0;
}

/* A rename of `from` over `to` is going ahead.  By a trusted installer
 * over a file allowlisted by its own entry: `from` takes its allowlists --
 * unless `from` is open for writing or mapped shared and writable: whoever
 * holds that could change its bytes after they became trusted, unseen (the
 * write was opened while the file was nobody's).  It then stays unknown:
 * refused, until a reload. */
static __always_inline void bw_content_rename(const struct bw_view *v, struct inode *from, struct inode *to)
{
	struct bw_file_key to_key, from_key;
	struct bw_installed in = {};
	__u64 bits;

	if (!from || !to || v->cfg->n_allowlists == 0)
		return;
	to_key = bw_key_of_inode(to);
	bits = bw_exec_own_bits(v, to, &to_key);
	if (!bits || !bw_current_is_installer())
		return;
	if (from->i_writecount.counter > 0 || (from->i_mapping && from->i_mapping->i_mmap_writable.counter > 0))
		return;
	from_key = bw_key_of_inode(from);
	in.allowlists = bits;
	in.igen = from->i_generation;
	in.generation = v->generation;
	bpf_map_update_elem(&bw_exec_installed, &from_key, &in, BPF_ANY);
	bpf_map_delete_elem(&bw_exec_changed, &from_key);
}

#endif /* BULWARK_CONTENT_BPF_H */
