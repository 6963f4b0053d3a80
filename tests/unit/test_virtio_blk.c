/*
 * virtio-blk through the virtio core and a driver-side ring in a small
 * guest RAM, over a temporary image, on both engines: each request type,
 * what a guest may get wrong (headers, ranges, lengths, a missing status
 * byte, a read-only disk), host I/O errors through the engine's fault seam,
 * and a reset with I/O in flight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drv_ring.h"
#include "petrel/virtio_blk.h"

#define RAM_SIZE (4 * 1024 * 1024)
#define DISK_SECTORS 256
#define QSIZE 64

struct fixture {
	enum disk_io io;
	char dir[64];
	char path[128];
	struct guest_mem mem;
	struct virtio_blk *blk;
	struct virtio_dev *d;
	struct drv_ring ring;
	struct disk_config cfg;
};

static struct fixture fx;

/* The image: sector s holds bytes (s + i) & 0xff, so any read says where it came from. */
static uint8_t pattern(uint64_t sector, unsigned i)
{
	return (uint8_t)(sector * 3 + i);
}

static int make_image(const char *path)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	uint8_t sec[512];

	if (fd < 0)
		return -1;
	for (uint64_t s = 0; s < DISK_SECTORS; s++) {
		for (unsigned i = 0; i < sizeof(sec); i++)
			sec[i] = pattern(s, i);
		if (pwrite(fd, sec, sizeof(sec), (off_t)(s * 512)) != sizeof(sec))
			return -1;
	}
	close(fd);
	return 0;
}

/* A device over the image with fx.cfg; the driver takes its features & mask. */
static int create_dev(uint64_t mask)
{
	if (virtio_blk_create(&fx.blk, &fx.cfg, 0, &fx.mem, NULL))
		return -1;
	fx.d = virtio_blk_dev(fx.blk);
	drv_ring_init(&fx.ring, &fx.mem, QSIZE, 0x10000, RAM_SIZE);
	uint8_t s = drv_start(fx.d, &fx.ring, 0, fx.d->host_features & mask);
	return (s & VIRTIO_CONFIG_S_DRIVER_OK) ? 0 : -1;
}

/* setup: state carries the engine; the test may change fx.cfg and call reopen(). */
static int setup(void **state)
{
	enum disk_io io = *(enum disk_io *)*state;

	memset(&fx, 0, sizeof(fx));
	fx.io = io;
	strcpy(fx.dir, "/tmp/petrel-vblk-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.path, sizeof(fx.path), "%s/disk.img", fx.dir);
	if (make_image(fx.path) || guest_mem_init(&fx.mem, RAM_SIZE))
		return -1;
	fx.cfg = (struct disk_config){ .io = io };
	strcpy(fx.cfg.path, fx.path);
	return create_dev(~0ULL);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	virtio_blk_destroy(fx.blk);
	guest_mem_destroy(&fx.mem);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void reopen(uint64_t mask)
{
	virtio_blk_destroy(fx.blk);
	fx.blk = NULL;
	assert_int_equal(create_dev(mask), 0);
}

/* Kicks, then waits for the used entry of head as the I/O thread would. */
static uint32_t wait_used(uint16_t head)
{
	uint16_t h;
	uint32_t len;
	struct blk_engine *e = virtio_blk_engine(fx.blk);

	drv_kick(fx.d, 0);
	for (int tries = 0; tries < 1000; tries++) {
		if (drv_used(&fx.ring, &h, &len)) {
			assert_int_equal(h, head);
			return len;
		}
		assert_true(e->event_fd >= 0);
		struct pollfd p = { .fd = e->event_fd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 5000), 1);
		virtio_blk_complete(fx.blk);
	}
	fail_msg("no used entry");
	return 0;
}

static gpa_t hdr(uint32_t type, uint64_t sector)
{
	gpa_t g = drv_alloc(&fx.ring, 16, 16);
	struct virtio_blk_outhdr *h = drv_ptr(&fx.ring, g, 16);

	h->type = type;
	h->sector = sector;
	return g;
}

static gpa_t status_buf(void)
{
	gpa_t g = drv_alloc(&fx.ring, 1, 1);

	*(uint8_t *)drv_ptr(&fx.ring, g, 1) = 0xee;
	return g;
}

static uint8_t status_at(gpa_t g)
{
	return *(uint8_t *)drv_ptr(&fx.ring, g, 1);
}

/* header, one data buffer, status: the shape Linux sends. Returns the status. */
static uint8_t simple(uint32_t type, uint64_t sector, gpa_t data, uint32_t len,
		      bool data_writable, uint32_t *used)
{
	gpa_t h = hdr(type, sector), st = status_buf();
	struct drv_buf b[3] = { { h, 16, false } };
	unsigned n = 1;

	if (len)
		b[n++] = (struct drv_buf){ data, len, data_writable };
	b[n++] = (struct drv_buf){ st, 1, true };
	uint32_t u = wait_used(drv_add(&fx.ring, b, n));
	if (used)
		*used = u;
	return status_at(st);
}

static void check_pattern(const uint8_t *p, uint64_t sector, unsigned nsect)
{
	for (unsigned s = 0; s < nsect; s++)
		for (unsigned i = 0; i < 512; i++)
			if (p[s * 512 + i] != pattern(sector + s, i))
				fail_msg("sector %llu byte %u: 0x%02x", (unsigned long long)(sector + s),
					 i, p[s * 512 + i]);
}

static void test_config(void **state)
{
	struct virtio_blk_config c;

	(void)state;
	assert_int_equal(fx.d->device_id, VIRTIO_ID_BLOCK);
	virtio_config_read(fx.d, 0, &c, offsetof(struct virtio_blk_config, max_secure_erase_sectors));
	assert_int_equal(c.capacity, DISK_SECTORS);
	assert_int_equal(c.seg_max, VIRTIO_BLK_SEG_MAX);
	assert_int_equal(c.blk_size, 512);
	assert_true(c.size_max >= 4096);
	uint64_t f = fx.d->host_features;
	assert_true(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	assert_false(f & (1ULL << VIRTIO_BLK_F_RO));
	/* the image is on ext4 or tmpfs: both punch holes */
	assert_true(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_int_equal(c.max_discard_seg, 1);
	assert_int_equal(c.max_write_zeroes_seg, 1);
	assert_true(c.max_discard_sectors > 0);
	assert_string_equal(virtio_blk_engine(fx.blk)->ops->name,
			    fx.io == DISK_IO_SYNC ? "sync" : "uring");
}

static void test_read(void **state)
{
	gpa_t data = drv_alloc(&fx.ring, 4096, 512);
	uint32_t used;

	(void)state;
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 10, data, 4096, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 4097);
	check_pattern(drv_ptr(&fx.ring, data, 4096), 10, 8);
	/* the last sector of the disk */
	assert_int_equal(simple(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, data, 512, true, NULL),
			 VIRTIO_BLK_S_OK);
	check_pattern(drv_ptr(&fx.ring, data, 512), DISK_SECTORS - 1, 1);
	struct virtio_blk_stats s = virtio_blk_get_stats(fx.blk);
	assert_int_equal(s.reads, 2);
	assert_int_equal(s.bytes_read, 4096 + 512);
}

/* Buffers cut anywhere: a header over two buffers, status sharing data's buffer. */
static void test_odd_layouts(void **state)
{
	gpa_t h = hdr(VIRTIO_BLK_T_IN, 3);
	gpa_t data = drv_alloc(&fx.ring, 1024 + 1, 1);
	struct drv_buf b[4] = {
		{ h, 5, false }, { h + 5, 11, false },
		{ data, 700, true }, { data + 700, 1024 + 1 - 700, true },
	};
	uint8_t *p = drv_ptr(&fx.ring, data, 1025);

	(void)state;
	assert_int_equal(wait_used(drv_add(&fx.ring, b, 4)), 1025);
	check_pattern(p, 3, 2);
	assert_int_equal(p[1024], VIRTIO_BLK_S_OK);

	/* a write whose header and data share one buffer */
	gpa_t w = drv_alloc(&fx.ring, 16 + 512, 16);
	struct virtio_blk_outhdr *wh = drv_ptr(&fx.ring, w, 16);
	wh->type = VIRTIO_BLK_T_OUT;
	wh->sector = 7;
	memset(drv_ptr(&fx.ring, w + 16, 512), 0x5a, 512);
	gpa_t st = status_buf();
	struct drv_buf wb[2] = { { w, 16 + 512, false }, { st, 1, true } };
	assert_int_equal(wait_used(drv_add(&fx.ring, wb, 2)), 1);
	assert_int_equal(status_at(st), VIRTIO_BLK_S_OK);
	uint8_t sec[512];
	int fd = open(fx.path, O_RDONLY);
	assert_int_equal(pread(fd, sec, 512, 7 * 512), 512);
	close(fd);
	for (int i = 0; i < 512; i++)
		assert_int_equal(sec[i], 0x5a);
}

static void test_write_flush(void **state)
{
	gpa_t data = drv_alloc(&fx.ring, 2048, 512);
	uint8_t *p = drv_ptr(&fx.ring, data, 2048);
	uint8_t back[2048];
	uint32_t used;

	(void)state;
	for (int i = 0; i < 2048; i++)
		p[i] = (uint8_t)(i ^ 0x33);
	assert_int_equal(simple(VIRTIO_BLK_T_OUT, 100, data, 2048, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	int fd = open(fx.path, O_RDONLY);
	assert_int_equal(pread(fd, back, 2048, 100 * 512), 2048);
	close(fd);
	assert_memory_equal(back, p, 2048);
	/* the neighbours are untouched */
	gpa_t r = drv_alloc(&fx.ring, 512, 512);
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 104, r, 512, true, NULL), VIRTIO_BLK_S_OK);
	check_pattern(drv_ptr(&fx.ring, r, 512), 104, 1);

	uint64_t before = virtio_blk_engine(fx.blk)->fdatasyncs;
	assert_int_equal(simple(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	/* the flush completed only after fdatasync did */
	assert_int_equal(virtio_blk_engine(fx.blk)->fdatasyncs, before + 1);
	struct virtio_blk_stats s = virtio_blk_get_stats(fx.blk);
	assert_int_equal(s.writes, 1);
	assert_int_equal(s.bytes_written, 2048);
	assert_int_equal(s.flushes, 1);
}

/* A driver without FLUSH expects every write to be durable when it completes. */
static void test_writethrough(void **state)
{
	gpa_t data;

	(void)state;
	reopen(~(1ULL << VIRTIO_BLK_F_FLUSH));
	data = drv_alloc(&fx.ring, 512, 512);
	assert_int_equal(simple(VIRTIO_BLK_T_OUT, 1, data, 512, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(virtio_blk_engine(fx.blk)->fdatasyncs, 1);
}

static void get_id(const char *serial, uint32_t buflen, const char *want, uint32_t want_len)
{
	strcpy(fx.cfg.serial, serial);
	reopen(~0ULL);
	gpa_t data = drv_alloc(&fx.ring, buflen, 1);
	memset(drv_ptr(&fx.ring, data, buflen), 0xff, buflen);
	uint32_t used;
	assert_int_equal(simple(VIRTIO_BLK_T_GET_ID, 0, data, buflen, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, want_len + 1);
	assert_memory_equal(drv_ptr(&fx.ring, data, want_len), want, want_len);
}

static void test_get_id(void **state)
{
	(void)state;
	get_id("disk-serial-1", 20, "disk-serial-1\0\0\0\0\0\0\0", 20);
	get_id("", 20, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	get_id("0123456789abcdefghij", 20, "0123456789abcdefghij", 20);
	/* a short buffer gets what fits; a long one the 20 bytes */
	get_id("abc", 2, "ab", 2);
	get_id("abc", 64, "abc\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
}

/* DISCARD and WRITE_ZEROES: one segment after the header. */
static uint8_t range_req(uint32_t type, uint64_t sector, uint32_t nsect, uint32_t flags,
			 unsigned nseg)
{
	gpa_t segs = drv_alloc(&fx.ring, 16 * nseg, 8);
	struct virtio_blk_discard_write_zeroes *s = drv_ptr(&fx.ring, segs, 16 * nseg);

	for (unsigned i = 0; i < nseg; i++) {
		s[i].sector = sector + i * nsect;
		s[i].num_sectors = nsect;
		s[i].flags = flags;
	}
	return simple(type, 0, segs, 16 * nseg, false, NULL);
}

static void expect_zero(uint64_t sector, unsigned nsect)
{
	gpa_t data = drv_alloc(&fx.ring, nsect * 512, 512);
	uint8_t *p = drv_ptr(&fx.ring, data, nsect * 512);

	memset(p, 0xee, nsect * 512);
	assert_int_equal(simple(VIRTIO_BLK_T_IN, sector, data, nsect * 512, true, NULL),
			 VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < nsect * 512; i++)
		assert_int_equal(p[i], 0);
}

static void test_discard_write_zeroes(void **state)
{
	gpa_t data = drv_alloc(&fx.ring, 512, 512);

	(void)state;
	assert_int_equal(range_req(VIRTIO_BLK_T_DISCARD, 16, 8, 0, 1), VIRTIO_BLK_S_OK);
	expect_zero(16, 8);
	assert_int_equal(range_req(VIRTIO_BLK_T_WRITE_ZEROES, 30, 3, 0, 1), VIRTIO_BLK_S_OK);
	expect_zero(30, 3);
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 33, data, 512, true, NULL), VIRTIO_BLK_S_OK);
	check_pattern(drv_ptr(&fx.ring, data, 512), 33, 1);
	assert_int_equal(range_req(VIRTIO_BLK_T_WRITE_ZEROES, 40, 2,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1), VIRTIO_BLK_S_OK);
	expect_zero(40, 2);
	/* 5.2.6.2: unmap on a discard, unknown flags: unsupported */
	assert_int_equal(range_req(VIRTIO_BLK_T_DISCARD, 16, 8,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(range_req(VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, 2, 1), VIRTIO_BLK_S_UNSUPP);
	/* past the end, more segments than offered, no segment */
	assert_int_equal(range_req(VIRTIO_BLK_T_DISCARD, DISK_SECTORS - 1, 2, 0, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(range_req(VIRTIO_BLK_T_DISCARD, UINT64_MAX, 1, 0, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(range_req(VIRTIO_BLK_T_DISCARD, 0, 1, 0, 2), VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	/* a driver that did not take DISCARD cannot use it */
	reopen(~(1ULL << VIRTIO_BLK_F_DISCARD));
	assert_int_equal(range_req(VIRTIO_BLK_T_DISCARD, 16, 8, 0, 1), VIRTIO_BLK_S_UNSUPP);
}

static void test_bad_requests(void **state)
{
	gpa_t data = drv_alloc(&fx.ring, 4096, 512);
	uint32_t used;

	(void)state;
	/* out of the disk: one past the end, straddling it, overflowing */
	assert_int_equal(simple(VIRTIO_BLK_T_IN, DISK_SECTORS, data, 512, true, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(simple(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, data, 1024, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 2, data, 512, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(VIRTIO_BLK_T_IN, UINT64_MAX, data, 512, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* lengths that are not whole sectors */
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 0, data, 100, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(VIRTIO_BLK_T_OUT, 0, data, 513, false, NULL), VIRTIO_BLK_S_IOERR);
	/* unknown types */
	assert_int_equal(simple(99, 0, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(simple(VIRTIO_BLK_T_SCSI_CMD, 0, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	/* an IN whose data is device-readable: no room for the data */
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 0, data, 512, false, NULL), VIRTIO_BLK_S_OK);
	/* a header shorter than 16 bytes */
	gpa_t h = hdr(VIRTIO_BLK_T_IN, 0), st = status_buf();
	struct drv_buf b[2] = { { h, 8, false }, { st, 1, true } };
	assert_int_equal(wait_used(drv_add(&fx.ring, b, 2)), 1);
	assert_int_equal(status_at(st), VIRTIO_BLK_S_IOERR);
	/* no header at all */
	st = status_buf();
	struct drv_buf only[1] = { { st, 1, true } };
	assert_int_equal(wait_used(drv_add(&fx.ring, only, 1)), 1);
	assert_int_equal(status_at(st), VIRTIO_BLK_S_IOERR);
	/* the device is still fine */
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 2, data, 512, true, NULL), VIRTIO_BLK_S_OK);
	check_pattern(drv_ptr(&fx.ring, data, 512), 2, 1);
	struct virtio_blk_stats s = virtio_blk_get_stats(fx.blk);
	assert_int_equal(s.errors, 8);
	assert_int_equal(s.unsupported, 2);
	assert_false(virtio_get_status(fx.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Without a writable byte there is nowhere to answer: the device needs a reset. */
static void test_no_status_byte(void **state)
{
	gpa_t h = hdr(VIRTIO_BLK_T_FLUSH, 0);
	struct drv_buf b[1] = { { h, 16, false } };
	uint16_t head;
	uint32_t len;

	(void)state;
	drv_add(&fx.ring, b, 1);
	drv_kick(fx.d, 0);
	assert_true(virtio_get_status(fx.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(drv_used(&fx.ring, &head, &len));
	/* after a reset by the driver it works again */
	drv_ring_init(&fx.ring, &fx.mem, QSIZE, 0x10000, RAM_SIZE);
	assert_true(drv_start(fx.d, &fx.ring, 0, fx.d->host_features) & VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(simple(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
}

static void test_readonly(void **state)
{
	gpa_t data;
	uint8_t sec[512];

	(void)state;
	fx.cfg.readonly = true;
	reopen(~0ULL);
	uint64_t f = fx.d->host_features;
	assert_true(f & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_false(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	data = drv_alloc(&fx.ring, 512, 512);
	memset(drv_ptr(&fx.ring, data, 512), 0x11, 512);
	assert_int_equal(simple(VIRTIO_BLK_T_OUT, 0, data, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(range_req(VIRTIO_BLK_T_DISCARD, 0, 1, 0, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 0, data, 512, true, NULL), VIRTIO_BLK_S_OK);
	check_pattern(drv_ptr(&fx.ring, data, 512), 0, 1);
	assert_int_equal(simple(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	int fd = open(fx.path, O_RDONLY);
	assert_int_equal(pread(fd, sec, 512, 0), 512);
	close(fd);
	assert_int_equal(sec[0], pattern(0, 0));
}

static int fail_writes(void *opaque, const struct blk_req *r)
{
	(void)opaque;
	return r->op == BLK_OP_WRITE || r->op == BLK_OP_FLUSH ? -EIO : 0;
}

static void test_host_io_error(void **state)
{
	gpa_t data = drv_alloc(&fx.ring, 512, 512);
	struct blk_engine *e = virtio_blk_engine(fx.blk);

	(void)state;
	e->fault = fail_writes;
	assert_int_equal(simple(VIRTIO_BLK_T_OUT, 0, data, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	uint32_t used;
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 0, data, 512, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 513);
	e->fault = NULL;
	assert_int_equal(simple(VIRTIO_BLK_T_OUT, 0, data, 512, false, NULL), VIRTIO_BLK_S_OK);
	struct virtio_blk_stats s = virtio_blk_get_stats(fx.blk);
	assert_int_equal(s.errors, 2);
	assert_false(virtio_get_status(fx.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* A reset with reads in flight: none of them writes guest memory afterwards. */
static void test_reset_in_flight(void **state)
{
	uint16_t head;
	uint32_t len;
	gpa_t st[8];

	(void)state;
	for (int i = 0; i < 8; i++) {
		gpa_t data = drv_alloc(&fx.ring, 64 * 1024, 512);
		st[i] = status_buf();
		struct drv_buf b[3] = {
			{ hdr(VIRTIO_BLK_T_IN, 0), 16, false }, { data, 64 * 1024, true },
			{ st[i], 1, true },
		};
		drv_add(&fx.ring, b, 3);
	}
	drv_kick(fx.d, 0); /* uring: submitted, not reaped */
	virtio_set_status(fx.d, 0);
	assert_int_equal(virtio_blk_engine(fx.blk)->inflight, 0);
	virtio_blk_complete(fx.blk);
	/* sync completed them before the reset; uring's were dropped */
	int n = 0;
	while (drv_used(&fx.ring, &head, &len))
		n++;
	assert_int_equal(n, fx.io == DISK_IO_SYNC ? 8 : 0);
	if (fx.io != DISK_IO_SYNC)
		for (int i = 0; i < 8; i++)
			assert_int_equal(status_at(st[i]), 0xee);
}

static void test_direct(void **state)
{
	(void)state;
	fx.cfg.cache_none = true;
	reopen(~0ULL);
	const struct blk_image *img = virtio_blk_image(fx.blk);
	assert_true(img->direct);
	gpa_t data = drv_alloc(&fx.ring, 8192, 4096);
	assert_int_equal(simple(VIRTIO_BLK_T_IN, 8, data, 4096, true, NULL), VIRTIO_BLK_S_OK);
	check_pattern(drv_ptr(&fx.ring, data, 4096), 8, 8);
	if (img->mem_align > 1)
		/* a buffer O_DIRECT cannot take */
		assert_int_equal(simple(VIRTIO_BLK_T_IN, 8, data + 1, 512, true, NULL),
				 VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(VIRTIO_BLK_T_OUT, 8, data, 4096, false, NULL), VIRTIO_BLK_S_OK);
}

static void test_many_in_flight(void **state)
{
	uint16_t heads[16], head;
	uint32_t len;
	gpa_t data[16], st[16];

	(void)state;
	for (int i = 0; i < 16; i++) {
		data[i] = drv_alloc(&fx.ring, 1024, 512);
		st[i] = status_buf();
		struct drv_buf b[3] = {
			{ hdr(VIRTIO_BLK_T_IN, (uint64_t)i * 2), 16, false },
			{ data[i], 1024, true }, { st[i], 1, true },
		};
		heads[i] = drv_add(&fx.ring, b, 3);
	}
	drv_kick(fx.d, 0);
	int got = 0;
	while (got < 16) {
		if (drv_used(&fx.ring, &head, &len)) {
			assert_int_equal(len, 1025);
			got++;
			continue;
		}
		struct pollfd p = { .fd = virtio_blk_engine(fx.blk)->event_fd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 5000), 1);
		virtio_blk_complete(fx.blk);
	}
	for (int i = 0; i < 16; i++) {
		(void)heads[i];
		assert_int_equal(status_at(st[i]), VIRTIO_BLK_S_OK);
		check_pattern(drv_ptr(&fx.ring, data[i], 1024), (uint64_t)i * 2, 2);
	}
}

static enum disk_io io_sync = DISK_IO_SYNC, io_uring = DISK_IO_URING;

#define T(fn, io) { #fn "/" #io, fn, setup, teardown, &io }
#define BOTH(fn) T(fn, io_sync), T(fn, io_uring)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_config),
		BOTH(test_read),
		BOTH(test_odd_layouts),
		BOTH(test_write_flush),
		BOTH(test_writethrough),
		BOTH(test_get_id),
		BOTH(test_discard_write_zeroes),
		BOTH(test_bad_requests),
		BOTH(test_no_status_byte),
		BOTH(test_readonly),
		BOTH(test_host_io_error),
		BOTH(test_reset_in_flight),
		BOTH(test_direct),
		BOTH(test_many_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
