/* SPDX-License-Identifier: GPL-2.0 */
/*
 * identity.bpf.h — the identity (device, inode) of a file as bulwark keys
 * it: the one stat() reports, which is what the policy compiler and the
 * daemon read (policy/identity.cpp).  On most filesystems that is the
 * superblock's device.  btrfs is the exception: stat() reports the device
 * of the file's subvolume (each has its own anonymous device, and inode
 * numbers repeat across subvolumes), so for a btrfs inode the device is its
 * subvolume root's anon_dev, exactly as btrfs_getattr() fills st_dev.
 *
 * btrfs is usually a module: its types come from the module's BTF, found by
 * libbpf when the programs are loaded.  A kernel without btrfs (or a btrfs
 * whose types do not match) leaves these reads dead code, and files on a
 * btrfs loaded later keep the superblock's device: the daemon knows this
 * from the same BTF (see daemon/bpf_loader.cpp) and says such rules are not
 * enforced.
 */
#ifndef BULWARK_IDENTITY_BPF_H
#define BULWARK_IDENTITY_BPF_H

#include "maps.bpf.h"

#define BW_BTRFS_SUPER_MAGIC 0x9123683Eu

/* The two btrfs fields read, as CO-RE "flavours" of the module's types. */
struct btrfs_root___bw {
	dev_t anon_dev;
} __attribute__((preserve_access_index));

struct btrfs_inode___bw {
	struct btrfs_root___bw *root;
	struct inode vfs_inode;
} __attribute__((preserve_access_index));

/* The device of `inode` (any kernel pointer: read with probe reads) on a
 * btrfs superblock whose own device is `sb_dev`: its subvolume's. */
static __always_inline __u64 bw_btrfs_dev(struct inode *inode, __u64 sb_dev)
{
	struct btrfs_root___bw *root = NULL;
	dev_t anon = 0;
	char *bi;

	if (!bpf_core_field_exists(struct btrfs_inode___bw, root) ||
	    !bpf_core_field_exists(struct btrfs_inode___bw, vfs_inode) ||
	    !bpf_core_field_exists(struct btrfs_root___bw, anon_dev))
		return sb_dev;
	bi = (char *)inode - bpf_core_field_offset(struct btrfs_inode___bw, vfs_inode);
	bpf_probe_read_kernel(&root, sizeof(root), bi + bpf_core_field_offset(struct btrfs_inode___bw, root));
	if (!root)
		return sb_dev;
	bpf_probe_read_kernel(&anon, sizeof(anon),
			      (char *)root + bpf_core_field_offset(struct btrfs_root___bw, anon_dev));
	return anon ? anon : sb_dev;
}

/* The device of `inode`, on superblock `sb` whose s_dev and s_magic the
 * caller read (each caller reads kernel memory its own way). */
static __always_inline __u64 bw_inode_dev(struct inode *inode, __u64 sb_dev, __u64 sb_magic)
{
	return sb_magic == BW_BTRFS_SUPER_MAGIC ? bw_btrfs_dev(inode, sb_dev) : sb_dev;
}

/* The identity of `inode`, a BTF pointer. */
static __always_inline struct bw_file_key bw_key_of_inode(struct inode *inode)
{
	struct bw_file_key key = {};

	if (!inode)
		return key;
	key.dev = bw_inode_dev(inode, inode->i_sb->s_dev, inode->i_sb->s_magic);
	key.ino = inode->i_ino;
	return key;
}

#endif /* BULWARK_IDENTITY_BPF_H */
