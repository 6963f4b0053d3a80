/*
 * Opening a raw disk image: the checks a user's mistake should meet with a
 * clear message, the OFD lock, the size, and what fallocate can do.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "petrel/blk_image.h"
#include "petrel/util.h"

static int open_image(const struct disk_config *cfg)
{
	int flags = O_CLOEXEC | O_NONBLOCK | (cfg->readonly ? O_RDONLY : O_RDWR);

	/* O_NONBLOCK: opening a FIFO must not hang before we can refuse it */
	if (cfg->cache_none)
		flags |= O_DIRECT;
	int fd = open(cfg->path, flags);

	if (fd >= 0)
		return fd;
	int err = errno;

	if (err == EISDIR)
		pt_err("disk %s: is a directory, not a disk image", cfg->path);
	else if (err == EINVAL && cfg->cache_none)
		pt_err("disk %s: open with O_DIRECT: %s (the file system refuses O_DIRECT; drop cache=none)",
		       cfg->path, strerror(err));
	else if (!cfg->readonly && (err == EACCES || err == EROFS || err == EPERM))
		pt_err("disk %s: open for reading and writing: %s (add ,ro for a read-only disk)",
		       cfg->path, strerror(err));
	else
		pt_err("disk %s: open(%s%s): %s", cfg->path,
		       cfg->readonly ? "O_RDONLY" : "O_RDWR",
		       cfg->cache_none ? "|O_DIRECT" : "", strerror(err));
	return -err;
}

/*
 * A whole-file OFD lock: unlike a POSIX lock it belongs to this open file,
 * so closing another descriptor of the same file in this process (a test,
 * a second disk) does not drop it.
 */
static int lock_image(struct blk_image *img)
{
	struct flock fl = {
		.l_type = img->readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
	};

	if (fcntl(img->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	int err = errno;

	if (err == EAGAIN || err == EACCES)
		pt_err("disk %s: is in use by another process (locked): fcntl(F_OFD_SETLK, %s) failed",
		       img->path, img->readonly ? "F_RDLCK" : "F_WRLCK");
	else
		pt_err("disk %s: fcntl(F_OFD_SETLK): %s", img->path, strerror(err));
	return -err;
}

/*
 * What O_DIRECT demands of offsets, lengths and buffers. statx says it on
 * kernels since 6.1; before that the logical block size (block devices)
 * or 512 is the usual answer.
 */
static int dio_alignment(struct blk_image *img)
{
	struct statx stx;

	img->block_align = BLK_SECTOR_SIZE;
	img->mem_align = BLK_SECTOR_SIZE;
	if (statx(img->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		if (!stx.stx_dio_offset_align) {
			pt_err("disk %s: the file system does not support O_DIRECT (cache=none)",
			       img->path);
			return -EINVAL;
		}
		img->block_align = MAX(stx.stx_dio_offset_align, BLK_SECTOR_SIZE);
		img->mem_align = MAX(stx.stx_dio_mem_align, 1u);
	} else if (img->blockdev) {
		int lbs;

		if (ioctl(img->fd, BLKSSZGET, &lbs) == 0 && lbs > BLK_SECTOR_SIZE)
			img->block_align = (uint32_t)lbs;
	}
	if (img->block_align > 4096 || (img->block_align & (img->block_align - 1))) {
		pt_err("disk %s: O_DIRECT wants %u-byte alignment, which petrel does not offer",
		       img->path, img->block_align);
		return -EINVAL;
	}
	return 0;
}

/* Some file systems accept O_DIRECT in open and refuse it in read. */
static int dio_probe(struct blk_image *img)
{
	void *buf;
	int err = 0;

	if (img->size < img->block_align)
		return 0;
	if (posix_memalign(&buf, 4096, img->block_align))
		return -ENOMEM;
	if (pread(img->fd, buf, img->block_align, 0) < 0) {
		err = -errno;
		pt_err("disk %s: pread with O_DIRECT: %s (the file system refuses O_DIRECT; drop cache=none)",
		       img->path, strerror(errno));
	}
	free(buf);
	return err;
}

/*
 * Probes fallocate past the end of the file, where it changes nothing the
 * guest can see (KEEP_SIZE). Block devices are not probed: the only range
 * to try on holds data.
 */
static void probe_fallocate(struct blk_image *img, uint64_t file_size)
{
	off_t off = (off_t)ALIGN_UP(file_size, 4096);

	if (img->readonly || img->blockdev)
		return;
	img->can_punch = fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   off, 4096) == 0;
	img->can_zero = fallocate(img->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				  off, 4096) == 0;
	/* give back the block the zeroing probe may have allocated */
	if (img->can_zero && img->can_punch)
		(void)fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				off, 4096);
}

int blk_image_open(struct blk_image *img, const struct disk_config *cfg)
{
	struct stat st;
	uint64_t bytes;
	int err, fl;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	img->path = strdup(cfg->path);
	if (!img->path)
		return -ENOMEM;
	img->readonly = cfg->readonly;
	img->direct = cfg->cache_none;
	img->block_align = BLK_SECTOR_SIZE;
	img->mem_align = 1;
	err = open_image(cfg);
	if (err < 0)
		goto fail;
	img->fd = err;
	if (fstat(img->fd, &st) < 0) {
		err = -errno;
		pt_err("disk %s: fstat: %s", img->path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		pt_err("disk %s: is a directory, not a disk image", img->path);
		err = -EISDIR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		pt_err("disk %s: is neither a regular file nor a block device (mode 0%o)",
		       img->path, (unsigned)(st.st_mode & S_IFMT));
		err = -EINVAL;
		goto fail;
	}
	img->blockdev = S_ISBLK(st.st_mode);
	fl = fcntl(img->fd, F_GETFL);
	if (fl < 0 || fcntl(img->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		err = -errno;
		pt_err("disk %s: fcntl(F_SETFL): %s", img->path, strerror(errno));
		goto fail;
	}
	err = lock_image(img);
	if (err < 0)
		goto fail;
	if (img->blockdev) {
		if (ioctl(img->fd, BLKGETSIZE64, &bytes) < 0) {
			err = -errno;
			pt_err("disk %s: ioctl(BLKGETSIZE64): %s", img->path,
			       strerror(errno));
			goto fail;
		}
	} else {
		bytes = (uint64_t)st.st_size;
	}
	img->sectors = bytes / BLK_SECTOR_SIZE;
	img->size = img->sectors * BLK_SECTOR_SIZE;
	if (img->size != bytes)
		pt_warn("disk %s: %llu bytes is not a whole number of %d-byte sectors; the guest sees %llu",
			img->path, (unsigned long long)bytes, BLK_SECTOR_SIZE,
			(unsigned long long)img->size);
	if (img->direct) {
		err = dio_alignment(img);
		if (err == 0)
			err = dio_probe(img);
		if (err < 0)
			goto fail;
	}
	probe_fallocate(img, bytes);
	return 0;
fail:
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	free(img->path);
	img->path = NULL;
	return err;
}

void blk_image_close(struct blk_image *img)
{
	if (img->fd >= 0)
		close(img->fd); /* drops the OFD lock */
	img->fd = -1;
	free(img->path);
	img->path = NULL;
}

int blk_fallocate_mode(const struct blk_image *img, const struct blk_req *r)
{
	/* a punched hole reads back as zeroes in a regular file */
	if (r->op == BLK_OP_DISCARD ||
	    (r->unmap && img->can_punch) || !img->can_zero)
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}
