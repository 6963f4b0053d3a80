/*
 * libFuzzer target for virtio-blk behind the virtqueue and the virtio core,
 * on the sync engine over a memfd image. The input is guest RAM (rings,
 * descriptors, headers, data) plus a few bytes saying how the driver set
 * the queue up. Whatever the guest wrote, petrel must not crash, must not
 * touch memory outside RAM (ASan), must keep the image its size, and must
 * answer no chain it did not take.
 *
 * Input (blkf_input.h): u8 size_log2, u8 features, u8 kicks, u8 flags
 * (bit 0: read-only disk), then RAM from gpa 0.
 */
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blkf_input.h"
#include "petrel/util.h"
#include "petrel/virtio_blk.h"

#include "fuzz_check.h"

/* One device for the whole run: each input starts with a driver reset. */
struct fz {
	struct guest_mem mem;
	struct virtio_blk *blk[2]; /* read-write, read-only */
	int memfd;
	char path[64];
};

static struct fz *fz_get(void)
{
	static struct fz *z;

	if (z)
		return z;
	z = calloc(1, sizeof(*z));
	CHECK(z && guest_mem_init(&z->mem, BLKF_RAM_SIZE) == 0);
	z->memfd = memfd_create("fuzz-virtio-blk", MFD_CLOEXEC);
	CHECK(z->memfd >= 0 && ftruncate(z->memfd, BLKF_DISK_SIZE) == 0);
	snprintf(z->path, sizeof(z->path), "/proc/self/fd/%d", z->memfd);
	struct disk_config ro = { .readonly = true, .io = DISK_IO_SYNC };
	struct disk_config rw = { .io = DISK_IO_SYNC };

	strcpy(rw.path, z->path);
	strcpy(rw.serial, "fuzz-serial");
	CHECK(virtio_blk_create(&z->blk[0], &rw, 0, &z->mem, NULL) == 0);
	/* a second image for the read-only case: the first holds a write lock */
	int fd2 = memfd_create("fuzz-virtio-blk-ro", MFD_CLOEXEC);
	char path2[64];

	CHECK(fd2 >= 0 && ftruncate(fd2, BLKF_DISK_SIZE) == 0);
	snprintf(path2, sizeof(path2), "/proc/self/fd/%d", fd2);
	strcpy(ro.path, path2);
	CHECK(virtio_blk_create(&z->blk[1], &ro, 1, &z->mem, NULL) == 0);
	return z;
}

static uint64_t features_of(const struct virtio_dev *d, uint8_t f)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1 |
			(f & 1 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
			(f & 2 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0) |
			(f & 4 ? 1ULL << VIRTIO_BLK_F_FLUSH : 0) |
			(f & 8 ? 1ULL << VIRTIO_BLK_F_DISCARD : 0) |
			(f & 16 ? 1ULL << VIRTIO_BLK_F_WRITE_ZEROES : 0);

	return want & d->host_features;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z = fz_get();

	if (size < BLKF_HDR_SIZE)
		return 0;
	struct virtio_blk *blk = z->blk[data[3] & 1];
	struct virtio_dev *d = virtio_blk_dev(blk);
	uint16_t qsize = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
	uint8_t *ram = gpa_ptr(&z->mem, 0, BLKF_RAM_SIZE);
	uint64_t feat = features_of(d, data[1]);
	unsigned kicks = 1 + data[2] % 4;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		    VIRTIO_CONFIG_S_FEATURES_OK;

	memset(ram, 0, BLKF_RAM_SIZE);
	memcpy(ram, data + BLKF_HDR_SIZE, MIN(size - BLKF_HDR_SIZE, BLKF_RAM_SIZE));
	virtio_set_status(d, 0);
	virtio_set_features(d, 0, (uint32_t)feat);
	virtio_set_features(d, 1, (uint32_t)(feat >> 32));
	virtio_set_status(d, s);
	virtio_lock(d);
	struct virtio_queue *vq = virtio_queue(d, 0);
	vq->vq.size = qsize;
	vq->vq.desc = BLKF_DESC;
	vq->vq.avail = BLKF_AVAIL;
	vq->vq.used = BLKF_USED;
	vq->vq.ready = true;
	virtio_unlock(d);
	virtio_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	if (!(virtio_get_status(d) & VIRTIO_CONFIG_S_DRIVER_OK))
		return 0;
	for (unsigned k = 0; k < kicks; k++) {
		virtio_lock(d);
		d->ops->kick(d->dev, 0);
		/* the sync engine answered everything it took */
		CHECK(virtio_blk_engine(blk)->inflight == 0);
		/* one answer at most per chain taken */
		CHECK(vq->vq.used_idx <= vq->vq.last_avail);
		virtio_unlock(d);
		if (virtio_get_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET)
			break;
	}
	struct stat st;
	CHECK(fstat(z->memfd, &st) == 0 && st.st_size == BLKF_DISK_SIZE);
	return 0;
}
