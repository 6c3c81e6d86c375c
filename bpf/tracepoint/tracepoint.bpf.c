// SPDX-License-Identifier: GPL-2.0
/*
 * tracepoint.bpf.c — bulwark's enforcement where BPF LSM cannot be attached.
 *
 * Tracepoints cannot refuse anything; they can only act after the fact:
 *
 *   sys_exit of open, openat, openat2, creat, open_by_handle_at (x86_64,
 *   ia32 and x32 numbers)
 *       a successful open returned a descriptor: resolve it to its file and
 *       match the identity (the same maps as LSM mode).  Kill-on-open files:
 *       SIGKILL, delivered before the syscall returns to user space, so the
 *       process never reads a byte.  Protected files: SIGKILL too, or only
 *       an audit event (bw_tp_settings.protect_audit_only).
 *   tp_btf/sched_process_exec
 *       a process exec'd a file outside its allowlist: SIGKILL before its
 *       first instruction.
 *
 * Hooks only: the view, the walk, the verdicts and the record are in
 * the headers of bpf/ (view, walk, verdict, report), shared with LSM mode.
 *
 * What this mode cannot do (bulwarkctl status lists it): refuse anything
 * (an O_TRUNC open has truncated the file before the kill); see opens made
 * through io_uring; guard files against unlink, rename, link, chmod, chown
 * or xattr changes.
 */
#include "../preexisting.bpf.h"
#include "../units.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Descriptors opened before a rule: reported, not enforced (no hook here
 * sees a read or write). */
BW_DEFINE_PREEXISTING_ITER(false)

/* Set by the daemon before load. */
const volatile struct {
	__u32 protect_audit_only; /* protected files: report, don't kill */
} bw_tp_settings = {};

/* x86_64 numbers of the syscalls that open a path and return a descriptor
 * (x32 syscalls use the same numbers with BW_X32_SYSCALL_BIT set). */
#define BW_NR_OPEN 2
#define BW_NR_CREAT 85
#define BW_NR_OPENAT 257
#define BW_NR_OPEN_BY_HANDLE_AT 304
#define BW_NR_OPENAT2 437

/* Their ia32 numbers: `int $0x80` from any program, and 32-bit programs. */
#define BW_NR32_OPEN 5
#define BW_NR32_CREAT 8
#define BW_NR32_OPENAT 295
#define BW_NR32_OPEN_BY_HANDLE_AT 342
#define BW_NR32_OPENAT2 437

/* The file behind descriptor `fd` of the current task.  The descriptor
 * table is an array of pointers, read with a probe read; what comes out is
 * a plain number to the verifier. */
static __always_inline struct file *bw_fd_file_raw(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **fds;
	struct file *file = NULL;

	if (!fdt || fd < 0 || (unsigned long)fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) < 0)
		return NULL;
	return file;
}

/* Kernels since 6.2 cast it back to a BTF pointer, so that the walk reads
 * everything directly (bw_tp_sys_exit); older ones read it with probe
 * reads (bw_tp_sys_exit_compat).  The daemon loads the one that fits. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline struct file *bw_fd_file_btf(long fd)
{
	struct file *file = bw_fd_file_raw(fd);

	if (!file)
		return NULL;
	return bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct file));
}

/* BW_DEFINE_AFTER_OPEN(fn, FD_FILE, WALK, LD) defines
 *   int fn(const struct bw_view *v, long fd)
 * the verdict on the file a successful open returned, read with LD. */
#define BW_DEFINE_AFTER_OPEN(fn, FD_FILE, WALK, LD)                                      \
static __always_inline int fn(const struct bw_view *v, long fd)                        \
{                                                                                      \
	struct bw_report r = {};                                                       \
	struct bw_walk w;                                                              \
	struct dentry *dentry;                                                         \
	struct inode *inode;                                                           \
	struct file *file = FD_FILE(fd);                                               \
	__u32 f_flags, f_mode;                                                         \
	bool writing;                                                                  \
                                                                                       \
	if (!file)                                                                     \
		return 0;                                                              \
	dentry = LD(file, f_path.dentry);                                              \
	WALK(&w, v, dentry, BW_WALK_FILES);                                            \
	if (!w.strength)                                                               \
		return 0;                                                              \
	f_flags = LD(file, f_flags);                                                   \
	f_mode = LD(file, f_mode);                                                     \
	writing = (f_mode & BW_FMODE_WRITE) || (f_flags & BW_O_TRUNC);                 \
	if (w.rule.action == BW_ACT_DENY_WRITE && !writing)                            \
		return 0;                                                              \
                                                                                       \
	/* the kill first: delivered before the syscall returns */                     \
	r.verdict = bw_carry_out(bw_tp_file_verdict(&w.rule, bw_tp_settings.protect_audit_only)); \
	inode = LD(dentry, d_inode);                                                   \
	if (inode) {                                                                   \
		r.key.dev = w.dev;                                                     \
		r.key.ino = LD(inode, i_ino);                                          \
	}                                                                              \
	r.kind = BW_EV_FILE_OPEN;                                                      \
	r.action = w.rule.action;                                                      \
	r.rule_id = w.rule.rule_id;                                                    \
	r.generation = v->generation;                                                  \
	r.open_flags = f_flags;                                                        \
	if (writing)                                                                   \
		r.flags |= BW_EVF_WRITE;                                               \
	r.flags |= bw_walk_event_flags(&w);                                            \
	bw_report(&r, BW_PATH_NAME, LD(dentry, d_name.name));                          \
	return 0;                                                                      \
}

BW_DEFINE_AFTER_OPEN(bw_after_open, bw_fd_file_btf, bw_walk, BW_LD_DIRECT)
BW_DEFINE_AFTER_OPEN(bw_after_open_probe, bw_fd_file_raw, bw_walk_probe, BW_LD_PROBE)

/* A successful open, and a generation with file rules in force. */
static __always_inline bool bw_open_view(long ret, struct bw_view *v)
{
	if (ret < 0)
		return false;
	/* nothing to match: leave before resolving the descriptor */
	return bw_view_get(v) && (v->cfg->flags & BW_CFG_FILES);
}

static __always_inline bool bw_is_nr64(unsigned long nr)
{
	return nr == BW_NR_OPENAT || nr == BW_NR_OPEN || nr == BW_NR_OPENAT2 || nr == BW_NR_CREAT ||
	       nr == BW_NR_OPEN_BY_HANDLE_AT;
}

static __always_inline bool bw_is_nr32(unsigned long nr)
{
	return nr == BW_NR32_OPENAT || nr == BW_NR32_OPEN || nr == BW_NR32_OPENAT2 || nr == BW_NR32_CREAT ||
	       nr == BW_NR32_OPEN_BY_HANDLE_AT;
}

/* The kernel's in_ia32_syscall(): TS_COMPAT is set from the entry of an
 * ia32 syscall until the return to user space, after sys_exit. */
static __always_inline bool bw_in_ia32_syscall(void)
{
	return bpf_get_current_task_btf()->thread_info.status & BW_TS_COMPAT;
}

/* An open syscall of any of the three x86 ABIs.  The numbers overlap
 * (ia32's 5 is x86_64's fstat), so the ABI decides; it is read only for a
 * number that is an open in one of them. */
static __always_inline bool bw_is_open_nr(struct pt_regs *regs)
{
	unsigned long nr = regs->orig_ax;
	unsigned long nr64 = nr & ~BW_X32_SYSCALL_BIT;

	if (!bw_is_nr64(nr64) && !bw_is_nr32(nr))
		return false;
	return bw_in_ia32_syscall() ? bw_is_nr32(nr) : bw_is_nr64(nr64);
}

/* The opens the syscall trace events never see: the kernel's syscall
 * tracing skips ia32 syscalls and x32 numbers (kernel/trace/trace_syscalls.c). */
static __always_inline bool bw_is_untraced_open_nr(struct pt_regs *regs)
{
	return bw_is_open_nr(regs) && ((regs->orig_ax & BW_X32_SYSCALL_BIT) || bw_in_ia32_syscall());
}

/*
 * Three ways to see the exit of an open; the daemon loads one
 * (daemon/loader.cpp):
 *
 *   bw_tp_exit_<syscall>   syscalls:sys_exit_<syscall>, one program per open
 *                          syscall: the kernel runs it for those syscalls
 *                          only, so every other syscall costs nothing here.
 *                          Needs tracefs (the events' ids) and bpf_rdonly_cast.
 *                          With them bw_tp_sys_exit_untraced, on the raw
 *                          tracepoint, for the ia32 and x32 opens those
 *                          events never fire for.
 *   bw_tp_sys_exit         the raw sys_exit tracepoint: runs at the exit of
 *                          every syscall and leaves after one compare; no
 *                          tracefs needed.
 *   bw_tp_sys_exit_compat  the same with probe reads, for kernels without
 *                          bpf_rdonly_cast (before 6.2).
 */
#define BW_DEFINE_SYSCALL_EXIT(name)                                                   \
SEC("tracepoint/syscalls/sys_exit_" #name)                                            \
int bw_tp_exit_##name(struct bw_syscall_exit *ctx)                                     \
{                                                                                      \
	struct bw_view v;                                                              \
                                                                                       \
	return bw_open_view(ctx->ret, &v) ? bw_after_open(&v, ctx->ret) : 0;           \
}

BW_DEFINE_SYSCALL_EXIT(open)
BW_DEFINE_SYSCALL_EXIT(openat)
BW_DEFINE_SYSCALL_EXIT(openat2)
BW_DEFINE_SYSCALL_EXIT(creat)
BW_DEFINE_SYSCALL_EXIT(open_by_handle_at)

SEC("tp_btf/sys_exit")
int BPF_PROG(bw_tp_sys_exit_untraced, struct pt_regs *regs, long ret)
{
	struct bw_view v;

	if (!bw_is_untraced_open_nr(regs) || !bw_open_view(ret, &v))
		return 0;
	return bw_after_open(&v, ret);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(bw_tp_sys_exit, struct pt_regs *regs, long ret)
{
	struct bw_view v;

	if (!bw_is_open_nr(regs) || !bw_open_view(ret, &v))
		return 0;
	return bw_after_open(&v, ret);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(bw_tp_sys_exit_compat, struct pt_regs *regs, long ret)
{
	struct bw_view v;

	if (!bw_is_open_nr(regs) || !bw_open_view(ret, &v))
		return 0;
	return bw_after_open_probe(&v, ret);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(bw_tp_exec, struct task_struct *p, int old_pid, struct linux_binprm *bprm)
{
	struct bw_report r = {};
	struct bw_exec_hit hit = {};
	struct bw_view v;
	struct bw_walk w;
	struct dentry *dentry;

	if (!bw_view_get(&v) || v.cfg->n_allowlists == 0 || bw_current_is_exempt())
		return 0;
	dentry = bprm->file->f_path.dentry;
	bw_walk(&w, &v, dentry, BW_WALK_EXEC);
	if (!bw_exec_missing(&v, &w, &hit))
		return 0;
	/* before the new program's first instruction */
	r.verdict = bw_carry_out(hit.enforce ? BW_VERDICT_KILLED : BW_VERDICT_AUDITED);
	r.key = bw_key_of_inode(dentry->d_inode);
	r.kind = BW_EV_EXEC;
	r.rule_id = hit.rule_id;
	r.generation = v.generation;
	r.flags |= bw_walk_event_flags(&w);
	bw_report(&r, BW_PATH_STRING, bprm->filename);
	return 0;
}
