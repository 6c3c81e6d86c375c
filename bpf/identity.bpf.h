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
 * btrfs is usually a module.  The field offsets come from the daemon
 * (bw_btrfs, read-only data set before load, from the module's BTF file):
 * a CO-RE relocation against a module's types would make libbpf list the
 * kernel's BTF objects, which needs CAP_SYS_ADMIN bulwark.service does not
 * have.  With no btrfs types known at load (btrfs loaded later), btrfs
 * files keep the superblock's device and the daemon says rules there are
 * not enforced (policy::kernel_btrfs_layout).
 */
#ifndef BULWARK_IDENTITY_BPF_H
#define BULWARK_IDENTITY_BPF_H

#include "maps.bpf.h"

#define BW_BTRFS_SUPER_MAGIC 0x9123683Eu

const volatile struct bw_btrfs_layout bw_btrfs = {};

/* The device of `inode` (any kernel pointer: read with probe reads) on a
 * btrfs superblock whose own device is `sb_dev`: its subvolume's. */
static __always_inline __u64 bw_btrfs_dev(struct inode *inode, __u64 sb_dev)
{
	void *root = NULL;
	dev_t anon = 0;
	char *bi;

	if (!bw_btrfs.known)
		return sb_dev;
	bi = (char *)inode - bw_btrfs.inode_vfs_inode;
	bpf_probe_read_kernel(&root, sizeof(root), bi + bw_btrfs.inode_root);
	if (!root)
		return sb_dev;
	bpf_probe_read_kernel(&anon, sizeof(anon), (char *)root + bw_btrfs.root_anon_dev);
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
