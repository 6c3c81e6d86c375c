// SPDX-License-Identifier: GPL-2.0
/*
 * lsm.bpf.c — bulwark's hooks in BPF LSM mode, and nothing but the hooks.
 *
 *   file_open, file_receive        protected files (-EPERM), kill-on-open
 *                                  files (SIGKILL + -EPERM); a received
 *                                  descriptor (SCM_RIGHTS, pidfd_getfd) is
 *                                  judged like an open by the receiver
 *   file_permission, mmap_file     reads, writes and maps through a
 *                                  descriptor opened before its rule (an
 *                                  inode marked in bw_marks) are judged
 *                                  like an open; any other file costs one
 *                                  inode-storage lookup
 *   bprm_check_security            exec allowlists (-EPERM)
 *   mmap_file, file_mprotect       ... and code mapped executable from a
 *                                  file is exec: ld.so, LD_PRELOAD, dlopen
 *   inode_unlink, inode_rmdir,     guarded files can't be removed, renamed,
 *   inode_rename, inode_link,      replaced, linked, truncated, chmod'ed,
 *   path_truncate, path_chmod,     chown'ed, have their times or xattrs
 *   path_chown, inode_setattr,     changed
 *   inode_setxattr,
 *   inode_removexattr
 *   sb_mount, move_mount           nothing is mounted over a guarded path
 *                                  or a directory above one (host mount
 *                                  namespace; bw_mounts), and such a
 *                                  directory is not renamed (inode_rename)
 *   iter/task_file                 descriptors open when a generation comes
 *                                  into force (preexisting.bpf.h)
 *   bpf_map, bpf_prog, bpf,        bulwark itself (self.bpf.h): descriptors
 *   inode_unlink/rmdir/rename,     of its maps and programs, detaching its
 *   sb_umount, task_kill,          links, removing its pins, unmounting
 *   ptrace_access_check,           their filesystem, signals and ptrace to
 *   task_prctl,                    bulwarkd: bulwarkd's alone
 *   tp_btf/sched_process_exit
 *
 * Each hook reads the generation in force once (view.bpf.h), matches by
 * identity with the one walk (walk.bpf.h), decides (verdict.bpf.h) and
 * reports (report.bpf.h).
 */
#include "../preexisting.bpf.h"
#include "../self.bpf.h"
#include "../content.bpf.h"
#include "../units.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Inodes a descriptor held open when their rule came into force
 * (preexisting.bpf.h).  A mark only says "check this inode like an open":
 * the verdict is always the generation in force, so a mark a later
 * generation no longer covers costs a walk and allows. */
struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct bw_mark);
} bw_marks SEC(".maps");

BW_DEFINE_PREEXISTING_ITER(true)

/* Reports the rule a walk matched (r: key, kind, op, open_flags and flags
 * already set) and returns what the hook returns.  `path` when the hook may
 * resolve it (bpf_d_path), else the dentry's own name. */
static __always_inline int bw_lsm_act(const struct bw_view *v, struct bw_walk *w, struct bw_report *r,
				      bool may_kill, const struct path *path, struct dentry *dentry)
{
	r->verdict = bw_carry_out(bw_lsm_file_verdict(&w->rule, may_kill));
	r->action = w->rule.action;
	r->rule_id = w->rule.rule_id;
	r->generation = v->generation;
	r->flags |= bw_walk_event_flags(w);
	if (path)
		bw_report(r, BW_PATH_D_PATH, path);
	else
		bw_report(r, BW_PATH_NAME, dentry->d_name.name);
	return r->verdict == BW_VERDICT_AUDITED ? 0 : -BW_EPERM;
}

/* Does this open (or received descriptor) give a way to change the file? */
static __always_inline bool bw_opens_for_writing(const struct file *file)
{
	return (file->f_mode & BW_FMODE_WRITE) || (file->f_flags & BW_O_TRUNC);
}

/* An open, or a descriptor received: the file's rule, for this task. */
static __always_inline int bw_check_open(struct file *file, __u32 ev_flags)
{
	struct bw_report r = {};
	struct bw_view v;
	struct bw_walk w;
	bool writing;

	if (!bw_view_get(&v) || !(v.cfg->flags & BW_CFG_FILES))
		return 0;
	bw_walk_file(&w, &v, file, BW_WALK_FILES);
	if (!w.strength)
		return 0;
	writing = bw_opens_for_writing(file);
	if (w.rule.action == BW_ACT_DENY_WRITE && !writing)
		return 0;
	r.key = bw_key_of_inode(file->f_inode);
	r.kind = BW_EV_FILE_OPEN;
	r.open_flags = file->f_flags;
	r.flags = ev_flags | (writing ? BW_EVF_WRITE : 0);
	return bw_lsm_act(&v, &w, &r, true, &file->f_path, NULL);
}

SEC("lsm/file_open")
int BPF_PROG(bw_lsm_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	if (bw_opens_for_writing(file) && (ret = bw_self_guard_file(file->f_inode, BW_OP_NONE, &file->f_path, NULL)))
		return ret;
	ret = bw_check_open(file, 0);
	if (ret || !bw_opens_for_writing(file))
		return ret;
	return bw_content_write(file->f_inode); /* an allowlisted file's bytes may change */
}

/* A descriptor another process opened arrives (SCM_RIGHTS, pidfd_getfd,
 * binder): the receiver's rules apply as if it had opened it.  When the
 * receiver is bulwarkd taking a preexisting descriptor, the inode is marked
 * instead. */
SEC("lsm/file_receive")
int BPF_PROG(bw_lsm_file_receive, struct file *file, int ret)
{
	struct bw_mark *mark;
	struct bw_view v;

	if (ret)
		return ret;
	if (!bw_current_is_self())
		return bw_check_open(file, BW_EVF_RECEIVED);
	mark = bpf_inode_storage_get(&bw_marks, file->f_inode, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (mark && bw_view_get(&v))
		mark->generation = v.generation;
	return 0;
}

/* A read, write or map through a descriptor of a marked inode: judged as
 * an open with the access asked for.  Enforcing rules only (a rule that
 * only audits saw the descriptor reported once, as `preexisting`). */
static __always_inline int bw_check_access(struct file *file, bool writing, const struct path *path)
{
	struct bw_report r = {};
	struct bw_view v;
	struct bw_walk w;

	if (!bpf_inode_storage_get(&bw_marks, file->f_inode, 0, 0))
		return 0; /* every file no preexisting descriptor made us mark */
	if (!bw_view_get(&v) || !(v.cfg->flags & BW_CFG_FILES))
		return 0;
	bw_walk_file(&w, &v, file, BW_WALK_FILES);
	if (!w.strength || (w.rule.flags & BW_RULE_AUDIT))
		return 0;
	if (w.rule.action == BW_ACT_DENY_WRITE && !writing)
		return 0;
	r.key = bw_key_of_inode(file->f_inode);
	r.kind = BW_EV_FILE_ACCESS;
	r.open_flags = file->f_flags;
	r.flags = writing ? BW_EVF_WRITE : 0;
	return bw_lsm_act(&v, &w, &r, true, path, file->f_path.dentry);
}

SEC("lsm/file_permission")
int BPF_PROG(bw_lsm_file_permission, struct file *file, int mask, int ret)
{
	if (ret || !mask)
		return ret;
	return bw_check_access(file, (mask & BW_MAY_WRITE) != 0, NULL);
}

/* An exec, or code mapped executable from a file (ev_flags
 * BW_EVF_MMAP_EXEC): with an allowlist in force for the task, the file must
 * be in it.  `path` when the hook may resolve it. */
static __always_inline int bw_check_exec(struct file *file, const struct path *path, __u32 ev_flags)
{
	struct bw_report r = {};
	struct bw_exec_hit hit = {};
	struct bw_view v;
	struct bw_walk w;

	if (!bw_view_get(&v) || v.cfg->n_allowlists == 0 || bw_current_is_exempt())
		return 0;
	bw_walk_file(&w, &v, file, BW_WALK_EXEC);
	if (!bw_exec_missing(&v, &w, &hit))
		return 0;
	r.key = bw_key_of_inode(file->f_inode);
	r.kind = BW_EV_EXEC;
	r.verdict = hit.enforce ? BW_VERDICT_DENIED : BW_VERDICT_AUDITED;
	r.rule_id = hit.rule_id;
	r.generation = v.generation;
	r.flags = ev_flags | bw_walk_event_flags(&w);
	if (path)
		bw_report(&r, BW_PATH_D_PATH, path);
	else
		bw_report(&r, BW_PATH_NAME, file->f_path.dentry->d_name.name);
	return hit.enforce ? -BW_EPERM : 0;
}

SEC("lsm/mmap_file")
int BPF_PROG(bw_lsm_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret || !file)
		return ret; /* anonymous memory (JITs) is not a file's code */
	if (prot & BW_PROT_EXEC) {
		ret = bw_check_exec(file, &file->f_path, BW_EVF_MMAP_EXEC);
		if (ret)
			return ret;
	}
	return bw_check_access(file, (prot & BW_PROT_WRITE) && (flags & BW_MAP_SHARED), &file->f_path);
}

/* Making a file mapping executable later is the same exec. */
SEC("lsm/file_mprotect")
int BPF_PROG(bw_lsm_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot,
	     int ret)
{
	struct file *file;

	if (ret || !(prot & BW_PROT_EXEC) || (vma->vm_flags & BW_VM_EXEC))
		return ret;
	file = vma->vm_file;
	return file ? bw_check_exec(file, NULL, BW_EVF_MMAP_EXEC) : 0;
}

/* Any rule (deny write, deny all, kill on open) guards its files against
 * being changed, removed or replaced.  `v` is the hook's one view. */
static __always_inline int bw_guard_change(const struct bw_view *v, struct dentry *dentry, __u32 op)
{
	struct bw_report r = {};
	struct bw_walk w;

	if (!dentry || !(v->cfg->flags & BW_CFG_FILES))
		return 0;
	bw_walk(&w, v, dentry, BW_WALK_FILES);
	if (!w.strength)
		return 0;
	r.key = bw_key_of_inode(dentry->d_inode);
	r.kind = BW_EV_FILE_CHANGE;
	r.op = op;
	r.flags = BW_EVF_WRITE;
	return bw_lsm_act(v, &w, &r, false, NULL, dentry);
}

/* `d` is a directory above some rule's file (bw_mounts): moving it, or
 * mounting over it, would take the file away from the rule's path or serve
 * another file there.  Refused (reported: an audit rule's only reported)
 * as change `op`. */
static __always_inline int bw_guard_ancestor(const struct bw_view *v, struct dentry *d, __u32 op)
{
	struct bw_report r = {};
	struct bw_mount_guard *g;
	__u32 slot = v->slot;
	void *mounts;

	r.key = bw_key_of_inode(d->d_inode);
	mounts = bpf_map_lookup_elem(&bw_mounts, &slot);
	g = mounts ? bpf_map_lookup_elem(mounts, &r.key) : NULL;
	if (!g)
		return 0;
	r.kind = BW_EV_FILE_CHANGE;
	r.op = op;
	r.flags = BW_EVF_WRITE | BW_EVF_DIR_MATCH;
	r.action = g->action;
	r.rule_id = g->rule_id;
	r.generation = v->generation;
	r.verdict = (g->flags & BW_RULE_AUDIT) ? BW_VERDICT_AUDITED : BW_VERDICT_DENIED;
	bw_report(&r, BW_PATH_NAME, d->d_name.name);
	return r.verdict == BW_VERDICT_AUDITED ? 0 : -BW_EPERM;
}

/* A change `op` of `dentry`'s file: bulwark's own files first (self.bpf.h),
 * then the rules of the generation in force. */
static __always_inline int bw_guard(__u32 op, struct dentry *dentry)
{
	struct bw_view v;
	int ret;

	if (!dentry)
		return 0;
	if (op != BW_OP_LINK && (ret = bw_self_guard_file(dentry->d_inode, op, NULL, dentry)))
		return ret; /* a new name of bulwark's file changes nothing of it */
	return bw_view_get(&v) ? bw_guard_change(&v, dentry, op) : 0;
}

#define BW_GUARD(op, dentry) bw_guard((op), (dentry))

SEC("lsm/inode_unlink")
int BPF_PROG(bw_lsm_inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret || (ret = bw_self_guard_pins(dir, dentry)))
		return ret;
	return BW_GUARD(BW_OP_UNLINK, dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(bw_lsm_inode_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	struct bw_view v;

	if (ret || (ret = bw_self_guard_pins(dir, dentry)) || (ret = BW_GUARD(BW_OP_RMDIR, dentry)))
		return ret;
	/* An (empty) directory above a path bound by name: removed and made
	 * again, it would be another directory, and the path unbound. */
	if (!dentry || !dentry->d_inode || !bw_view_get(&v) || !(v.cfg->flags & BW_CFG_FILES))
		return 0;
	return bw_guard_ancestor(&v, dentry, BW_OP_RMDIR);
}

/* Two objects, one view: the file moved and the one it would replace are
 * judged by the same generation. */
SEC("lsm/inode_rename")
int BPF_PROG(bw_lsm_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	struct bw_view v;

	if (ret || (ret = bw_self_guard_pins(old_dir, old_dentry)) || (ret = bw_self_guard_pins(new_dir, new_dentry)))
		return ret;
	if ((ret = bw_self_guard_file(old_dentry->d_inode, BW_OP_RENAME_FROM, NULL, old_dentry)) ||
	    (ret = bw_self_guard_file(new_dentry->d_inode, BW_OP_RENAME_OVER, NULL, new_dentry)))
		return ret;
	if (!bw_view_get(&v))
		return 0;
	ret = bw_guard_change(&v, old_dentry, BW_OP_RENAME_FROM);
	if (ret)
		return ret;
	/* A directory above a rule's file keeps its name (and so the file its
	 * path): else the file would be where no rule's path is (at the next
	 * reload: not found) and a decoy could take its path. */
	if ((v.cfg->flags & BW_CFG_FILES) && (ret = bw_guard_ancestor(&v, old_dentry, BW_OP_RENAME_FROM)))
		return ret;
	if (!new_dentry->d_inode)
		return 0; /* nothing there to replace */
	if ((v.cfg->flags & BW_CFG_FILES) && (ret = bw_guard_ancestor(&v, new_dentry, BW_OP_RENAME_OVER)))
		return ret; /* RENAME_EXCHANGE moves it too */
	ret = bw_guard_change(&v, new_dentry, BW_OP_RENAME_OVER);
	if (!ret)
		bw_content_rename(&v, old_dentry->d_inode, new_dentry->d_inode);
	return ret;
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
	if (ret || (ret = BW_GUARD(BW_OP_TRUNCATE, path->dentry)))
		return ret;
	return bw_content_write(path->dentry->d_inode);
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

/* Times (utimensat, futimens, utime): the other attribute changes have
 * their own hooks above (truncate, chmod, chown).  The hook gained an idmap
 * first argument in 6.3: one program per signature, the loader keeps the
 * one the running kernel has (daemon/loader.cpp). */
static __always_inline int bw_guard_times(struct dentry *dentry, struct iattr *attr)
{
	if (!(attr->ia_valid & (BW_ATTR_ATIME | BW_ATTR_MTIME)))
		return 0;
	return BW_GUARD(BW_OP_UTIMES, dentry);
}

SEC("lsm/inode_setattr")
int BPF_PROG(bw_lsm_inode_setattr, struct dentry *dentry, struct iattr *attr, int ret)
{
	return ret ? ret : bw_guard_times(dentry, attr);
}

SEC("lsm/inode_setattr")
int BPF_PROG(bw_lsm_inode_setattr_idmap, struct mnt_idmap *idmap, struct dentry *dentry, struct iattr *attr,
	     int ret)
{
	return ret ? ret : bw_guard_times(dentry, attr);
}

/* Is the current task in the host's mount namespace (bw_self)?  Unknown
 * (bulwarkd could not see PID 1's): yes, so mounts are judged. */
static __always_inline bool bw_in_host_mnt_ns(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct bw_self *self;
	__u32 zero = 0;

	self = bpf_map_lookup_elem(&bw_self, &zero);
	if (!self || !self->host_mnt_ns)
		return true;
	return task->nsproxy->mnt_ns->ns.inum == self->host_mnt_ns;
}

/* A mount over `mp` (bind, move, a new filesystem) would make the path
 * serve something else: refused when `mp` is a guarded file or directory,
 * or a directory some rule's file lies below (bw_mounts).  Mounts in other
 * mount namespaces change only their own view (docs/policy.md). */
static __always_inline int bw_guard_mountpoint(struct dentry *mp)
{
	struct bw_view v;
	int ret;

	if (!mp || !mp->d_inode || !bw_in_host_mnt_ns())
		return 0;
	if ((ret = bw_self_guard_file(mp->d_inode, BW_OP_MOUNT, NULL, mp)))
		return ret;
	if (!bw_view_get(&v) || !(v.cfg->flags & BW_CFG_FILES))
		return 0;
	ret = bw_guard_change(&v, mp, BW_OP_MOUNT);
	if (ret)
		return ret;
	return bw_guard_ancestor(&v, mp, BW_OP_MOUNT);
}

SEC("lsm/sb_mount")
int BPF_PROG(bw_lsm_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	if (ret)
		return ret;
	if ((flags & BW_MS_REMOUNT) || ((flags & BW_MS_PROPAGATION) && !(flags & (BW_MS_BIND | BW_MS_MOVE))))
		return 0; /* changes an existing mount's flags: serves the same files */
	return bw_guard_mountpoint(path->dentry);
}

SEC("lsm/move_mount")
int BPF_PROG(bw_lsm_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	return ret ? ret : bw_guard_mountpoint(to_path->dentry);
}

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
	return ret ? ret : bw_check_exec(bprm->file, &bprm->file->f_path, 0);
}

/* --- bulwark itself (self.bpf.h) ------------------------------------------ */

/* A descriptor of a map: bpf_map_get_fd_by_id, BPF_OBJ_GET of a pin, a
 * map's creation. */
SEC("lsm/bpf_map")
int BPF_PROG(bw_lsm_bpf_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	return ret ? ret : bw_self_guard_object(BW_OP_BPF_MAP, map->name);
}

/* A descriptor of a program: bpf_prog_get_fd_by_id, BPF_OBJ_GET, a load. */
SEC("lsm/bpf_prog")
int BPF_PROG(bw_lsm_bpf_prog, struct bpf_prog *prog, int ret)
{
	return ret ? ret : bw_self_guard_object(BW_OP_BPF_PROG, prog->aux->name);
}

/* Links have no hook of their own: anyone may hold a descriptor of one
 * (get-by-id, BPF_OBJ_GET of its pin), but detaching or replacing the
 * program of bulwark's links is refused (6.1 and 6.12 support neither on
 * LSM links; newer kernels may).  And no program that could switch the
 * hooks off is loaded (self.bpf.h). */
SEC("lsm/bpf")
int BPF_PROG(bw_lsm_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	if (ret)
		return ret;
	if (cmd == BPF_LINK_DETACH)
		return bw_self_guard_link(cmd, attr->link_detach.link_fd);
	if (cmd == BPF_LINK_UPDATE)
		return bw_self_guard_link(cmd, attr->link_update.link_fd);
	if (cmd == BPF_PROG_LOAD)
		return bw_self_guard_prog_load(attr);
	return 0;
}

/* Unmounting the bpf filesystem would drop the pins: while no bulwarkd
 * holds the links, that detaches them. */
SEC("lsm/sb_umount")
int BPF_PROG(bw_lsm_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	static const char fs_name[] = "bpf";
	struct bw_self *self;

	if (ret)
		return ret;
	self = bw_self_get();
	if (!self || !self->pin_dev || mnt->mnt_sb->s_dev != self->pin_dev || bw_self_may_touch(self))
		return 0;
	return bw_self_refuse(BW_OP_UMOUNT, fs_name, NULL, (__u32)flags);
}

/* Signals to bulwarkd (kill, tgkill, sigqueue, pidfd_send_signal) from
 * anyone but PID 1 (systemctl stop, restart, reload, kill), bulwarkd itself
 * and the process that started it (a bulwarkd run by hand).  Signals the
 * kernel sends (a terminal's ^C, SIGPIPE, the OOM killer) are not asked
 * about; signal 0 only probes. */
SEC("lsm/task_kill")
int BPF_PROG(bw_lsm_task_kill, struct task_struct *p, void *info, int sig, const struct cred *cred, int ret)
{
	struct bw_self *self;
	__u32 sender;

	if (ret || sig == 0)
		return ret;
	self = bw_self_get();
	if (!self || !(self->flags & BW_SELF_PROTECT) || !bw_self_is_task(self, p))
		return 0;
	sender = bpf_get_current_pid_tgid() >> 32;
	if (sender == 1 || bw_self_is_task(self, bpf_get_current_task_btf()) || sender == (__u32)p->real_parent->tgid)
		return 0;
	return bw_self_refuse(BW_OP_SIGNAL, p->comm, NULL, (__u32)sig);
}

/* Attaching to bulwarkd: ptrace, /proc/PID/mem, process_vm_readv/writev,
 * pidfd_getfd (its map descriptors).  Reading /proc/PID/status and the like
 * (PTRACE_MODE_READ) stays allowed. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(bw_lsm_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	struct bw_self *self;

	if (ret || !(mode & BW_PTRACE_MODE_ATTACH))
		return ret;
	self = bw_self_get();
	if (!self || !bw_self_is_task(self, child) || bw_self_may_touch(self))
		return 0;
	return bw_self_refuse(BW_OP_PTRACE, child->comm, NULL, mode);
}

/* While no bulwarkd runs, a bulwarkd binary is the credential: a process
 * may not make its executable look like one (PR_SET_MM_EXE_FILE, and the
 * exe_fd of PR_SET_MM_MAP; CRIU restores use them). */
SEC("lsm/task_prctl")
int BPF_PROG(bw_lsm_task_prctl, int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
	     unsigned long arg5, int ret)
{
	static const char what[] = "prctl(PR_SET_MM)";
	struct bw_self *self;

	if (ret || option != BW_PR_SET_MM || (arg2 != BW_PR_SET_MM_EXE_FILE && arg2 != BW_PR_SET_MM_MAP))
		return ret;
	self = bw_self_get();
	if (!self || !(self->flags & BW_SELF_PROTECT) || self->tgid)
		return 0;
	return bw_self_refuse(BW_OP_SET_EXE, what, NULL, (__u32)arg2);
}

/* bulwarkd's process exits: from now on only a bulwarkd binary may take
 * over its objects (a restart, an upgrade, a crash).  At the exit, not when
 * the task is freed: a reference held on it (a perf event) must not keep
 * its id trusted. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(bw_lsm_process_exit, struct task_struct *task)
{
	struct bw_self *self = bw_self_get();

	if (self && (__u32)task->pid == self->tgid && bw_self_is_task(self, task)) /* its leader */
		self->tgid = 0;
	return 0;
}
