// SPDX-License-Identifier: GPL-2.0
/*
 * lsm.bpf.c — bulwark's hooks in BPF LSM mode, and nothing but the hooks.
 *
 *   file_open                      protected files (-EPERM), kill-on-open
 *                                  files (SIGKILL + -EPERM)
 *   bprm_check_security            exec allowlists (-EPERM)
 *   inode_unlink, inode_rmdir,     guarded files can't be removed, renamed,
 *   inode_rename, inode_link,      replaced, linked, truncated, chmod'ed,
 *   path_truncate, path_chmod,     chown'ed or have their xattrs changed
 *   path_chown, inode_setxattr,
 *   inode_removexattr
 *
 * Each hook reads the generation in force once (view.bpf.h), matches by
 * identity with the one walk (walk.bpf.h), decides (verdict.bpf.h) and
 * reports (report.bpf.h).
 */
#include "../report.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Reports the rule a walk matched on `dentry` and returns what the hook
 * returns. */
static __always_inline int bw_lsm_act(const struct bw_view *v, struct bw_walk *w, __u16 kind, __u32 op,
				      struct dentry *dentry, const struct path *path, __u32 open_flags,
				      bool writing)
{
	struct bw_report r = {};

	r.key = bw_key_of_inode(dentry->d_inode);
	r.kind = kind;
	r.verdict = bw_carry_out(bw_lsm_file_verdict(&w->rule, kind == BW_EV_FILE_OPEN));
	r.action = w->rule.action;
	r.rule_id = w->rule.rule_id;
	r.generation = v->generation;
	r.open_flags = open_flags;
	r.op = op;
	if (writing)
		r.flags |= BW_EVF_WRITE;
	if (w->dir_match)
		r.flags |= BW_EVF_DIR_MATCH;
	if (w->truncated)
		r.flags |= BW_EVF_WALK_TRUNCATED;
	if (path)
		bw_report(&r, BW_PATH_D_PATH, path);
	else
		bw_report(&r, BW_PATH_NAME, dentry->d_name.name);
	return r.verdict == BW_VERDICT_AUDITED ? 0 : -BW_EPERM;
}

SEC("lsm/file_open")
int BPF_PROG(bw_lsm_file_open, struct file *file, int ret)
{
	struct bw_view v;
	struct bw_walk w;
	bool writing;

	if (ret)
		return ret;
	if (!bw_view_get(&v) || !(v.cfg->flags & BW_CFG_FILES))
		return 0;
	bw_walk(&w, &v, file->f_path.dentry, BW_WALK_FILES);
	if (!w.strength)
		return 0;
	writing = (file->f_mode & BW_FMODE_WRITE) || (file->f_flags & BW_O_TRUNC);
	if (w.rule.action == BW_ACT_DENY_WRITE && !writing)
		return 0;
	return bw_lsm_act(&v, &w, BW_EV_FILE_OPEN, BW_OP_NONE, file->f_path.dentry, &file->f_path, file->f_flags,
			  writing);
}

/* Any rule (deny write, deny all, kill on open) guards its files against
 * being changed, removed or replaced.  `v` is the hook's one view. */
static __always_inline int bw_guard_change(const struct bw_view *v, struct dentry *dentry, __u32 op)
{
	struct bw_walk w;

	if (!dentry || !(v->cfg->flags & BW_CFG_FILES))
		return 0;
	bw_walk(&w, v, dentry, BW_WALK_FILES);
	if (!w.strength)
		return 0;
	return bw_lsm_act(v, &w, BW_EV_FILE_CHANGE, op, dentry, NULL, 0, true);
}

#define BW_GUARD(op, dentry)                                                            \
	({                                                                              \
		struct bw_view v;                                                       \
		bw_view_get(&v) ? bw_guard_change(&v, (dentry), (op)) : 0;              \
	})

SEC("lsm/inode_unlink")
int BPF_PROG(bw_lsm_inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	return ret ? ret : BW_GUARD(BW_OP_UNLINK, dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(bw_lsm_inode_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	return ret ? ret : BW_GUARD(BW_OP_RMDIR, dentry);
}

/* Two objects, one view: the file moved and the one it would replace are
 * judged by the same generation. */
SEC("lsm/inode_rename")
int BPF_PROG(bw_lsm_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	struct bw_view v;

	if (ret)
		return ret;
	if (!bw_view_get(&v))
		return 0;
	ret = bw_guard_change(&v, old_dentry, BW_OP_RENAME_FROM);
	if (ret)
		return ret;
	if (!new_dentry->d_inode)
		return 0; /* nothing there to replace */
	return bw_guard_change(&v, new_dentry, BW_OP_RENAME_OVER);
}

SEC("lsm/inode_link")
int BPF_PROG(bw_lsm_inode_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry,
	     int ret)
{
	return ret ? ret : BW_GUARD(BW_OP_LINK, old_dentry);
}

SEC("lsm/path_truncate")
int BPF_PROG(bw_lsm_path_truncate, const struct path *path, int ret)
{
	return ret ? ret : BW_GUARD(BW_OP_TRUNCATE, path->dentry);
}

SEC("lsm/path_chmod")
int BPF_PROG(bw_lsm_path_chmod, const struct path *path, umode_t mode, int ret)
{
	return ret ? ret : BW_GUARD(BW_OP_CHMOD, path->dentry);
}

SEC("lsm/path_chown")
int BPF_PROG(bw_lsm_path_chown, const struct path *path, __u32 uid, __u32 gid, int ret)
{
	return ret ? ret : BW_GUARD(BW_OP_CHOWN, path->dentry);
}

/* The first argument is a user namespace (6.1) or an idmap (6.3+): unused. */
SEC("lsm/inode_setxattr")
int BPF_PROG(bw_lsm_inode_setxattr, void *ns, struct dentry *dentry, const char *name, const void *value,
	     __u64 size, int flags, int ret)
{
	return ret ? ret : BW_GUARD(BW_OP_SETXATTR, dentry);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(bw_lsm_inode_removexattr, void *ns, struct dentry *dentry, const char *name, int ret)
{
	return ret ? ret : BW_GUARD(BW_OP_REMOVEXATTR, dentry);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(bw_lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct bw_report r = {};
	struct bw_exec_hit hit = {};
	struct bw_view v;
	struct bw_walk w;
	struct file *file;

	if (ret)
		return ret;
	if (!bw_view_get(&v) || v.cfg->n_allowlists == 0)
		return 0;
	file = bprm->file;
	bw_walk(&w, &v, file->f_path.dentry, BW_WALK_EXEC);
	if (!bw_exec_missing(&v, &w, &hit))
		return 0;

	r.key = bw_key_of_inode(file->f_inode);
	r.kind = BW_EV_EXEC;
	r.verdict = hit.enforce ? BW_VERDICT_DENIED : BW_VERDICT_AUDITED;
	r.rule_id = hit.rule_id;
	r.generation = v.generation;
	if (w.truncated)
		r.flags |= BW_EVF_WALK_TRUNCATED;
	bw_report(&r, BW_PATH_D_PATH, &file->f_path);
	return hit.enforce ? -BW_EPERM : 0;
}
