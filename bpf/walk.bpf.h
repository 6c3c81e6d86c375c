/* SPDX-License-Identifier: GPL-2.0 */
/*
 * walk.bpf.h — the one ancestor walk: a file's identity, its name in its
 * directory (when the generation binds rules to paths, bw_names), then
 * (when the generation has directory rules) each ancestor directory's up to
 * BW_MAX_DIR_DEPTH levels, within the file's filesystem (on btrfs across its
 * subvolumes, each ancestor with its own subvolume's device).  File matching
 * (which rule, by bw_rule_strength) and the exec check (which allowlists
 * hold the file) are the same walk with a different `what`.
 *
 * The walk's state (struct bw_walk) lives on the hook's stack, private to
 * this run of the program: nothing another task or CPU can overwrite.  It
 * is only ever written by the global functions below (bw_walk_visit,
 * bw_task_scopes), which the verifier checks once, on their own; that keeps
 * the verification of the unrolled walk linear.
 */
#ifndef BULWARK_WALK_BPF_H
#define BULWARK_WALK_BPF_H

#include "view.bpf.h"
#include "identity.bpf.h"

#define BW_WALK_FILES (1u << 0)
#define BW_WALK_EXEC (1u << 1)

struct bw_walk {
	__u32 slot;
	__u32 generation; /* of the slot */
	__u32 what;      /* BW_WALK_* */
	__u64 dev;       /* the file's device: its key's first half */
	__u64 scopes;    /* the task's scope bits, once scopes_known */
	__u64 allowed;   /* exec: allowlist bits on the file and its ancestors */
	struct bw_file_rule rule; /* files: the strongest applicable rule */
	__u32 strength;  /* its bw_rule_strength, 0 = none */
	__u32 dir_match; /* it came from an ancestor directory */
	__u32 name_match; /* it came from the file's path (bw_names), not its identity */
	__u32 scopes_known;
	__u32 truncated; /* ancestors were left unchecked */
	__u32 content_changed; /* exec: the file's own entry lost its trust (bw_exec_changed) */
	__u32 disconnected; /* the walk ended at a dentry the kernel could not place (DCACHE_DISCONNECTED) */
	__u32 unplaced;     /* ... so the generation's unplaced rule is the walk's rule */
};

/* The kernel's DCACHE_DISCONNECTED (include/linux/dcache.h, the same bit
 * from 6.1 to today): a dentry made for an inode found without its path
 * (exportfs: open_by_handle_at, nfsd).  A non-directory's stays so: its
 * d_parent is itself. */
#define BW_DCACHE_DISCONNECTED 0x20

/* The scope bits (of the generation in `slot`) that hold the current task:
 * bit BW_SCOPE_HOST always, and the bits of every cgroup on the task's
 * path from the root down (bounded). */
__noinline __u64 bw_task_scopes(__u32 slot)
{
	__u64 scopes = 1ull << BW_SCOPE_HOST;
	void *map = bpf_map_lookup_elem(&bw_scopes, &slot);
	int level;

	if (!map)
		return scopes;
	BW_UNROLL
	for (level = 0; level < BW_MAX_CGROUP_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);
		struct bw_scope_mask *m;

		if (!id)
			break;
		m = bpf_map_lookup_elem(map, &id);
		if (m)
			scopes |= m->scopes;
	}
	return scopes;
}

/* Is the task inside scope bit `scope`?  The task's scopes are computed at
 * most once per walk. */
static __always_inline bool bw_walk_in_scope(struct bw_walk *w, __u32 scope)
{
	if (scope == BW_SCOPE_HOST)
		return true;
	if (scope >= BW_MAX_SCOPES)
		return false;
	if (!w->scopes_known) {
		w->scopes = bw_task_scopes(w->slot);
		w->scopes_known = 1;
	}
	return (w->scopes >> scope) & 1;
}

/* Does an entry resolved with inode generation `want` (0: not known) name
 * the inode of generation `have`?  Not when the number was reused. */
static __always_inline bool bw_same_generation(__u32 want, __u32 have)
{
	return !want || want == have;
}

/* `rule` applies to the walk's file: it becomes the walk's rule when it is
 * stronger than the one found so far and its scope holds the task.  How it
 * was found: through an ancestor (dir_match), through the file's path
 * (name_match), else by the file's own identity. */
static __always_inline void bw_walk_take(struct bw_walk *w, const struct bw_file_rule *rule, __u32 dir_match,
					 __u32 name_match)
{
	__u32 s = bw_rule_strength(rule->action, rule->flags);

	if (s > w->strength && bw_walk_in_scope(w, rule->scope)) {
		w->rule = *rule;
		w->strength = s;
		w->dir_match = dir_match;
		w->name_match = name_match;
	}
}

/* The allowlist bits the exec map of `slot` gives identity `key` (of inode
 * generation `gen`), and for the file's own entry (`own`) those a trusted
 * installer's rename gave it in generation `generation` (bw_exec_installed,
 * content.bpf.h). */
static __always_inline __u64 bw_exec_entry_bits(__u32 slot, __u32 generation, struct bw_file_key *key, __u32 gen,
						bool own)
{
	void *exec = bpf_map_lookup_elem(&bw_exec, &slot);
	struct bw_exec_allow *a = exec ? bpf_map_lookup_elem(exec, key) : NULL;
	struct bw_installed *in;
	__u64 bits = 0;

	if (a && bw_same_generation(a->generation, gen))
		bits = a->allowlists;
	if (!own)
		return bits;
	in = bpf_map_lookup_elem(&bw_exec_installed, key);
	if (in && in->generation == generation && bw_same_generation(in->igen, gen))
		bits |= in->allowlists;
	return bits;
}

/* One identity of the walk: the file itself (depth 0) or an ancestor, with
 * its inode's generation. */
__noinline int bw_walk_visit(struct bw_walk *w, __u64 dev, __u64 ino, __u32 gen, __u32 depth)
{
	struct bw_file_key key = {};
	__u32 slot;

	if (!w)
		return 0;
	slot = w->slot;
	key.dev = dev;
	key.ino = ino;
	if (w->what & BW_WALK_FILES) {
		void *files = bpf_map_lookup_elem(&bw_files, &slot);
		struct bw_file_rule *r = files ? bpf_map_lookup_elem(files, &key) : NULL;

		if (r && bw_same_generation(r->generation, gen)) {
			struct bw_file_rule rule = *r;

			bw_walk_take(w, &rule, depth > 0, 0);
		}
	}
	if (w->what & BW_WALK_EXEC) {
		struct bw_content_change *c;
		__u64 bits = bw_exec_entry_bits(slot, w->generation, &key, gen, depth == 0);

		/* A directory's entry trusts whatever is below it; the file's
		 * own entry only its bytes as they were trusted. */
		c = depth == 0 && bits ? bpf_map_lookup_elem(&bw_exec_changed, &key) : NULL;
		if (c && c->igen == gen) {
			w->content_changed = 1; /* changed in place since trusted */
			return 0;
		}
		w->allowed |= bits;
	}
	return 0;
}

/* bw_name_hash of the `len` bytes at kernel address `name` (a dentry's
 * name), as the daemon computes it for a rule's path (map_image.cpp). */
static __always_inline __u64 bw_name_hash_kernel(__u64 name, __u32 len)
{
	__u64 h = BW_NAME_HASH_SEED;
	__u32 i;

	BW_UNROLL
	for (i = 0; i < (BW_NAME_MAX + 8) / 8; i++) {
		__u32 off = i * 8;
		__u64 word = 0, n;

		if (off >= len)
			break;
		n = len - off;
		barrier_var(n); /* keep the clamp: the verifier needs to see it */
		if (n > 8)
			n = 8;
		bpf_probe_read_kernel(&word, n, (const void *)(name + off));
		h = bw_name_mix(h, word);
	}
	return bw_name_mix(h, len);
}

/* The file's name `name` (`len` bytes) in its directory (dev, ino): a
 * rule bound to that path (bw_names) applies as if it named the file. */
__noinline int bw_name_visit(struct bw_walk *w, __u64 dev, __u64 ino, __u64 name, __u32 len)
{
	struct bw_name_key key = {};
	struct bw_file_rule *r;
	void *names;
	__u32 slot;

	if (!w || !len || len > BW_NAME_MAX)
		return 0;
	slot = w->slot;
	key.dev = dev;
	key.ino = ino;
	key.len = len;
	key.hash = bw_name_hash_kernel(name, len);
	names = bpf_map_lookup_elem(&bw_names, &slot);
	r = names ? bpf_map_lookup_elem(names, &key) : NULL;
	if (r) {
		struct bw_file_rule rule = *r;

		bw_walk_take(w, &rule, 0, 1);
	}
	return 0;
}

/* The record flags (BW_EVF_*) of how the walk found its rule. */
static __always_inline __u32 bw_walk_event_flags(const struct bw_walk *w)
{
	return (w->dir_match ? BW_EVF_DIR_MATCH : 0) | (w->name_match ? BW_EVF_NAME_MATCH : 0) |
	       (w->truncated ? BW_EVF_WALK_TRUNCATED : 0) | (w->content_changed ? BW_EVF_CONTENT_CHANGED : 0) |
	       (w->unplaced ? BW_EVF_UNPLACED : 0);
}

/* May (dev, ino) be a directory rule's identity?  False is certain; true
 * asks the hash maps. */
static __always_inline bool bw_dir_maybe(struct bw_dir_filter *flt, __u64 dev, __u64 ino)
{
	__u32 bit = bw_dir_filter_bit(dev, ino);

	return (flt->words[(bit >> 6) & (BW_DIR_FILTER_BITS / 64 - 1)] >> (bit & 63)) & 1;
}

/* How kernel memory is read.  Every program here is BTF-typed (lsm,
 * tp_btf): pointers reached from their arguments are read directly
 * (BW_LD_DIRECT: one load each, a fault reads as 0).  A pointer that came
 * out of bpf_probe_read_kernel is a plain number to the verifier and must be
 * read with probe reads (BW_LD_PROBE: a helper call each) -- the tracepoint
 * program's fallback for kernels without bpf_rdonly_cast (before 6.2). */
#define BW_LD_DIRECT(p, field) ((p)->field)
#define BW_LD_PROBE(p, field) BPF_CORE_READ(p, field)

/* BW_DEFINE_WALK(fn, LD) defines
 *   void fn(struct bw_walk *w, const struct bw_view *v, struct dentry *dentry,
 *           __u32 what)
 * which fills *w (zeroed here) for `dentry`, reading kernel memory with LD:
 * the file's own identity always, its ancestors when the generation has
 * directory rules of that kind (only those the filter does not rule out
 * are looked up).  A file the kernel found without its path (disconnected)
 * has no ancestors to walk and no name to look up: when the generation has
 * rules of either kind on its filesystem, its unplaced rules take their
 * place (fail closed). */
#define BW_DEFINE_WALK(fn, LD)                                                         \
static __always_inline void fn(struct bw_walk *w, const struct bw_view *v,             \
			       struct dentry *dentry, __u32 what)                      \
{                                                                                      \
	__u32 dir_flag = (what & BW_WALK_FILES) ? BW_CFG_FILE_DIRS : BW_CFG_EXEC_DIRS; \
	struct dentry *d = dentry, *parent;                                            \
	struct super_block *sb;                                                        \
	struct inode *inode;                                                           \
	__u64 sb_dev, magic, dev;                                                      \
	int depth;                                                                     \
                                                                                       \
	__builtin_memset(w, 0, sizeof(*w));                                            \
	w->slot = v->slot;                                                             \
	w->generation = v->generation;                                                 \
	w->what = what;                                                                \
	if (!dentry)                                                                   \
		return;                                                                \
	inode = LD(dentry, d_inode);                                                   \
	if (!inode)                                                                    \
		return; /* negative dentry: matches nothing */                         \
	sb = LD(inode, i_sb);                                                          \
	sb_dev = LD(sb, s_dev);                                                        \
	magic = LD(sb, s_magic);                                                       \
	w->dev = dev = bw_inode_dev(inode, sb_dev, magic);                             \
	bw_walk_visit(w, dev, LD(inode, i_ino), LD(inode, i_generation), 0);           \
	if ((what & BW_WALK_FILES) && (v->cfg->flags & BW_CFG_FILE_NAMES)) {           \
		parent = LD(dentry, d_parent); /* the name in its directory */         \
		inode = parent && parent != dentry ? LD(parent, d_inode) : NULL;       \
		if (parent == dentry && (LD(dentry, d_flags) & BW_DCACHE_DISCONNECTED))\
			w->disconnected = 1;                                           \
		if (inode) {                                                           \
			__u64 pdev = magic == BW_BTRFS_SUPER_MAGIC ?                   \
					     bw_btrfs_dev(inode, sb_dev) : dev;        \
			__u64 pino = LD(inode, i_ino);                                 \
                                                                                       \
			if (bw_dir_maybe(v->filter, pdev, pino))                       \
				bw_name_visit(w, pdev, pino, /* a plain number */      \
					      (__u64)BW_LD_PROBE(dentry, d_name.name), \
					      LD(dentry, d_name.len));                 \
		}                                                                      \
	}                                                                              \
	if (!(v->cfg->flags & dir_flag))                                               \
		goto placed;                                                           \
	BW_UNROLL                                                                      \
	for (depth = 1; depth <= BW_MAX_DIR_DEPTH; depth++) {                          \
		__u64 ino;                                                             \
                                                                                       \
		parent = LD(d, d_parent);                                              \
		if (!parent)                                                           \
			goto placed;                                                   \
		if (parent == d) { /* root of this filesystem, or a disconnected */    \
			if (LD(d, d_flags) & BW_DCACHE_DISCONNECTED)                   \
				w->disconnected = 1;                                   \
			goto placed;                                                   \
		}                                                                      \
		d = parent;                                                            \
		inode = LD(d, d_inode);                                                \
		if (!inode)                                                            \
			goto placed;                                                   \
		ino = LD(inode, i_ino);                                                \
		if (magic == BW_BTRFS_SUPER_MAGIC) /* a subvolume's parent */          \
			dev = bw_btrfs_dev(inode, sb_dev);                             \
		if (bw_dir_maybe(v->filter, dev, ino))                                 \
			bw_walk_visit(w, dev, ino, LD(inode, i_generation), depth);    \
	}                                                                              \
	parent = LD(d, d_parent);                                                      \
	if (parent && parent != d) { /* ancestors left unchecked */                    \
		w->truncated = 1;                                                      \
		bw_count(BW_COUNT_DIR_TRUNCATED);                                      \
	}                                                                              \
placed:                                                                                \
	if (w->disconnected && (what & BW_WALK_FILES) &&                               \
	    (v->cfg->flags & BW_CFG_UNPLACED)) {                                       \
		__u32 before = w->strength, i;                                         \
                                                                                       \
		for (i = 0; i < BW_UNPLACED_RULES; i++) {                              \
			struct bw_unplaced *u = &v->cfg->unplaced[i];                  \
                                                                                       \
			if (u->rule.action != BW_ACT_NONE &&                           \
			    (!u->sb_dev || u->sb_dev == sb_dev))                       \
				bw_walk_take(w, &u->rule, 0, 0);                       \
		}                                                                      \
		w->unplaced = w->strength != before;                                   \
	}                                                                              \
}

BW_DEFINE_WALK(bw_walk, BW_LD_DIRECT)
BW_DEFINE_WALK(bw_walk_probe, BW_LD_PROBE)

/* The walk of an open file (a BTF pointer).  Normally its path's dentry.
 * A file overlayfs opened on one of its layers has the overlay's path but
 * the layer's inode: then the walk starts at that inode's own dentry (its
 * first alias, found with probe reads), so the rules on the layer's files
 * and directories hold when they are reached through an overlay mount. */
static __always_inline void bw_walk_file(struct bw_walk *w, const struct bw_view *v, struct file *file,
					 __u32 what)
{
	struct inode *inode = file->f_inode;
	__u64 first = 0;

	if (file->f_path.dentry->d_inode == inode || !inode) {
		bw_walk(w, v, file->f_path.dentry, what);
		return;
	}
	bpf_probe_read_kernel(&first, sizeof(first), &inode->i_dentry.first);
	bw_walk_probe(w, v, first ? (struct dentry *)(first - bpf_core_field_offset(struct dentry, d_u)) : NULL,
		      what);
}

#endif /* BULWARK_WALK_BPF_H */
