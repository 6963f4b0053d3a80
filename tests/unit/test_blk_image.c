/*
 * The disk backend: what blk_image_open refuses and says, the OFD lock
 * between two opens, the size, the fallocate probe, and both engines doing
 * every request type, short of space, and through the fault seam.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "petrel/blk_image.h"

struct fixture {
	char dir[64];
	char path[128];
	char err_path[128];
	int saved_stderr;
};

static struct fixture fx;

static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	strcpy(fx.dir, "/tmp/petrel-blk-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.path, sizeof(fx.path), "%s/disk.img", fx.dir);
	snprintf(fx.err_path, sizeof(fx.err_path), "%s/stderr", fx.dir);
	int fd = open(fx.path, O_CREAT | O_RDWR | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, 64 * 1024) < 0)
		return -1;
	close(fd);
	fx.saved_stderr = -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* petrel's messages go to stderr: catch them to check what they say. */
static void capture_begin(void)
{
	int fd = open(fx.err_path, O_CREAT | O_RDWR | O_TRUNC, 0600);

	assert_true(fd >= 0);
	fflush(stderr);
	fx.saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *capture_end(void)
{
	static char buf[4096];
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(fx.saved_stderr, 2);
	close(fx.saved_stderr);
	f = fopen(fx.err_path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static struct disk_config disk(const char *path, bool ro)
{
	struct disk_config c = { .readonly = ro };

	snprintf(c.path, sizeof(c.path), "%s", path);
	return c;
}

static void test_open_rw(void **state)
{
	struct blk_image img;
	struct disk_config c = disk(fx.path, false);

	(void)state;
	assert_int_equal(blk_image_open(&img, &c), 0);
	assert_int_equal(img.sectors, 128);
	assert_int_equal(img.size, 64 * 1024);
	assert_false(img.readonly);
	assert_false(img.blockdev);
	/* ext4 and tmpfs both punch holes */
	assert_true(img.can_punch);
	blk_image_close(&img);
	/* the probes past the end changed nothing the guest sees */
	struct stat st;
	assert_int_equal(stat(fx.path, &st), 0);
	assert_int_equal(st.st_size, 64 * 1024);
}

static void test_size_rounds_down(void **state)
{
	struct blk_image img;
	struct disk_config c = disk(fx.path, true);

	(void)state;
	assert_int_equal(truncate(fx.path, 1000), 0);
	capture_begin();
	assert_int_equal(blk_image_open(&img, &c), 0);
	char *msg = capture_end();
	assert_int_equal(img.sectors, 1);
	assert_non_null(strstr(msg, "not a whole number"));
	blk_image_close(&img);
}

static void test_lock(void **state)
{
	struct blk_image a, b;
	struct disk_config rw = disk(fx.path, false), ro = disk(fx.path, true);

	(void)state;
	assert_int_equal(blk_image_open(&a, &rw), 0);
	capture_begin();
	int err = blk_image_open(&b, &rw);
	char *msg = capture_end();
	assert_int_equal(err, -EAGAIN);
	assert_non_null(strstr(msg, fx.path));
	assert_non_null(strstr(msg, "in use by another process (locked)"));
	/* a reader is refused as well: the writer may change what it reads */
	capture_begin();
	err = blk_image_open(&b, &ro);
	capture_end();
	assert_int_equal(err, -EAGAIN);
	blk_image_close(&a);
	/* closing drops the lock; two readers share */
	assert_int_equal(blk_image_open(&a, &ro), 0);
	assert_int_equal(blk_image_open(&b, &ro), 0);
	blk_image_close(&b);
	capture_begin();
	err = blk_image_open(&b, &rw);
	capture_end();
	assert_int_equal(err, -EAGAIN);
	blk_image_close(&a);
}

static void expect_refused(const char *path, bool ro, int err, const char *what)
{
	struct blk_image img;
	struct disk_config c = disk(path, ro);

	capture_begin();
	int ret = blk_image_open(&img, &c);
	char *msg = capture_end();
	assert_int_equal(ret, err);
	assert_non_null(strstr(msg, path));
	assert_non_null(strstr(msg, what));
	assert_int_equal(img.fd, -1);
}

static void test_refused(void **state)
{
	char p[160];

	(void)state;
	expect_refused(fx.dir, false, -EISDIR, "is a directory");
	expect_refused(fx.dir, true, -EISDIR, "is a directory");
	snprintf(p, sizeof(p), "%s/missing.img", fx.dir);
	expect_refused(p, false, -ENOENT, strerror(ENOENT));
	snprintf(p, sizeof(p), "%s/fifo", fx.dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	expect_refused(p, true, -EINVAL, "neither a regular file nor a block device");
	expect_refused("/dev/null", false, -EINVAL, "neither a regular file");
}

/* A disk on a read-only file system: read-write is refused with a hint. */
static void test_readonly_fs(void **state)
{
	char mnt[160], path[200];

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/rofs", fx.dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
		rmdir(mnt);
		skip(); /* needs CAP_SYS_ADMIN */
	}
	snprintf(path, sizeof(path), "%s/disk.img", mnt);
	int fd = open(path, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	expect_refused(path, false, -EROFS, "add ,ro");
	struct blk_image img;
	struct disk_config c = disk(path, true);
	assert_int_equal(blk_image_open(&img, &c), 0);
	assert_false(img.can_punch); /* never probed on a read-only disk */
	blk_image_close(&img);
	umount(mnt);
	rmdir(mnt);
}

static void test_direct(void **state)
{
	struct blk_image img;
	struct disk_config c = disk(fx.path, false);

	(void)state;
	c.cache_none = true;
	capture_begin();
	int err = blk_image_open(&img, &c);
	char *msg = capture_end();
	if (err) {
		/* a file system without O_DIRECT must say so */
		assert_non_null(strstr(msg, "O_DIRECT"));
		return;
	}
	assert_true(img.direct);
	assert_true(img.block_align >= 512);
	assert_int_equal(fcntl(img.fd, F_GETFL) & O_DIRECT, O_DIRECT);
	blk_image_close(&img);
}

/* --- engines --- */

struct done_rec {
	int calls;
	int res;
};

struct test_req {
	struct blk_req r;
	struct done_rec *rec;
};

static void rec_done(struct blk_req *r, int res)
{
	struct test_req *t = (struct test_req *)r;

	t->rec->calls++;
	t->rec->res = res;
}

/* Submits and waits as the I/O thread would: on the engine's eventfd. */
static int run(struct blk_engine *e, struct blk_req *r)
{
	struct done_rec rec = { 0, 0 };
	struct test_req *t = (struct test_req *)r;

	t->rec = &rec;
	r->done = rec_done;
	blk_engine_submit(e, r);
	blk_engine_commit(e);
	while (!rec.calls) {
		struct pollfd p = { .fd = e->event_fd, .events = POLLIN };

		assert_true(e->event_fd >= 0);
		assert_int_equal(poll(&p, 1, 5000), 1);
		blk_engine_complete(e);
	}
	assert_int_equal(rec.calls, 1);
	assert_int_equal(e->inflight, 0);
	return rec.res;
}

static int rw(struct blk_engine *e, enum blk_op op, uint64_t off, void *buf,
	      uint64_t len, unsigned pieces)
{
	struct iovec iov[8];
	struct test_req t = { .r = { .op = op, .off = off, .len = len } };
	uint64_t step = len / pieces;

	for (unsigned i = 0; i < pieces; i++) {
		iov[i].iov_base = (uint8_t *)buf + i * step;
		iov[i].iov_len = i == pieces - 1 ? len - i * step : step;
	}
	t.r.iov = iov;
	t.r.iovcnt = pieces;
	return run(e, &t.r);
}

static int range_op(struct blk_engine *e, enum blk_op op, uint64_t off,
		    uint64_t len, bool unmap)
{
	struct test_req t = { .r = { .op = op, .off = off, .len = len, .unmap = unmap } };

	return run(e, &t.r);
}

static void engine_round_trip(enum disk_io io)
{
	struct blk_image img;
	struct blk_engine *e;
	struct disk_config c = disk(fx.path, false);
	uint8_t out[8192], in[8192], zero[4096];

	assert_int_equal(blk_image_open(&img, &c), 0);
	assert_int_equal(blk_engine_create(&e, &img, io, 16), 0);
	assert_string_equal(e->ops->name, io == DISK_IO_SYNC ? "sync" : "uring");
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	memset(zero, 0, sizeof(zero));
	assert_int_equal(rw(e, BLK_OP_WRITE, 4096, out, sizeof(out), 3), 0);
	memset(in, 0, sizeof(in));
	assert_int_equal(rw(e, BLK_OP_READ, 4096, in, sizeof(in), 5), 0);
	assert_memory_equal(in, out, sizeof(out));
	/* the flush reached fdatasync */
	assert_int_equal(range_op(e, BLK_OP_FLUSH, 0, 0, false), 0);
	assert_int_equal(e->fdatasyncs, 1);
	/* discard punches, write-zeroes zeroes: both read back as zeroes */
	assert_int_equal(range_op(e, BLK_OP_DISCARD, 4096, 4096, false), 0);
	assert_int_equal(rw(e, BLK_OP_READ, 4096, in, 4096, 1), 0);
	assert_memory_equal(in, zero, 4096);
	assert_int_equal(range_op(e, BLK_OP_WRITE_ZEROES, 8192, 512, false), 0);
	assert_int_equal(rw(e, BLK_OP_READ, 8192, in, 4096, 2), 0);
	assert_memory_equal(in, zero, 512);
	assert_memory_equal(in + 512, out + 4096 + 512, 4096 - 512);
	/* reading past the end of the file is an error, not a hang */
	assert_int_equal(rw(e, BLK_OP_READ, 64 * 1024, in, 512, 1), -EIO);
	/* a zero-length transfer completes at once */
	assert_int_equal(rw(e, BLK_OP_READ, 0, in, 0, 1), 0);
	blk_engine_destroy(e);
	blk_image_close(&img);
}

static void test_sync_engine(void **state)
{
	(void)state;
	engine_round_trip(DISK_IO_SYNC);
}

static void test_uring_engine(void **state)
{
	(void)state;
	engine_round_trip(DISK_IO_URING);
}

static int inject(void *opaque, const struct blk_req *r)
{
	int *calls = opaque;

	(*calls)++;
	return r->op == BLK_OP_WRITE ? -EIO : 0;
}

static void test_fault_seam(void **state)
{
	struct blk_image img;
	struct blk_engine *e;
	struct disk_config c = disk(fx.path, false);
	uint8_t buf[512] = { 1 };
	int calls = 0;

	(void)state;
	assert_int_equal(blk_image_open(&img, &c), 0);
	assert_int_equal(blk_engine_create(&e, &img, DISK_IO_DEFAULT, 4), 0);
	e->fault = inject;
	e->fault_opaque = &calls;
	assert_int_equal(rw(e, BLK_OP_WRITE, 0, buf, 512, 1), -EIO);
	assert_int_equal(rw(e, BLK_OP_READ, 0, buf, 512, 1), 0);
	assert_int_equal(calls, 2);
	blk_engine_destroy(e);
	blk_image_close(&img);
}

/* A disk larger than its file system: the write that does not fit fails. */
static void enospc(enum disk_io io)
{
	char mnt[160], path[200];
	struct blk_image img;
	struct blk_engine *e;
	static uint8_t buf[256 * 1024];

	snprintf(mnt, sizeof(mnt), "%s/small", fx.dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
		rmdir(mnt);
		skip(); /* needs CAP_SYS_ADMIN */
	}
	snprintf(path, sizeof(path), "%s/disk.img", mnt);
	int fd = open(path, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1024 * 1024), 0);
	close(fd);
	struct disk_config c = disk(path, false);
	assert_int_equal(blk_image_open(&img, &c), 0);
	assert_int_equal(blk_engine_create(&e, &img, io, 4), 0);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(rw(e, BLK_OP_WRITE, 0, buf, sizeof(buf), 4), -ENOSPC);
	/* and the engine still works afterwards */
	assert_int_equal(rw(e, BLK_OP_READ, 0, buf, 512, 1), 0);
	blk_engine_destroy(e);
	blk_image_close(&img);
	umount(mnt);
	rmdir(mnt);
}

static void test_enospc_sync(void **state)
{
	(void)state;
	enospc(DISK_IO_SYNC);
}

static void test_enospc_uring(void **state)
{
	(void)state;
	enospc(DISK_IO_URING);
}

static void test_iov_advance(void **state)
{
	uint8_t a[10], b[20];
	struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec *p = v;
	unsigned n = 2;

	(void)state;
	blk_iov_advance(&p, &n, 4);
	assert_int_equal(n, 2);
	assert_ptr_equal(p[0].iov_base, a + 4);
	assert_int_equal(p[0].iov_len, 6);
	blk_iov_advance(&p, &n, 6);
	assert_int_equal(n, 1);
	assert_ptr_equal(p, &v[1]);
	blk_iov_advance(&p, &n, 25);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_rw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_rounds_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uring_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_seam, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc_uring, setup, teardown),
		cmocka_unit_test(test_iov_advance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
