/*
 * --trace: the spec parser (good and bad specs), the line of each event
 * kind, lines from several threads that never interleave, the off path that
 * writes nothing, and a write error that turns tracing off.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/kvm.h>

#include "drv_ring.h"
#include "petrel/bus.h"
#include "petrel/irq.h"
#include "petrel/irq_trace.h"
#include "petrel/trace.h"
#include "petrel/virtio_rng.h"

/* A tracer writing into a memfd, and what it wrote. */
struct sink {
	struct tracer t;
	int fd;
	char text[1 << 16];
};

static void sink_open(struct sink *s, unsigned mask)
{
	s->fd = memfd_create("trace", MFD_CLOEXEC);
	assert_true(s->fd >= 0);
	tracer_init_fd(&s->t, mask, s->fd);
}

static const char *sink_text(struct sink *s)
{
	ssize_t n = pread(s->fd, s->text, sizeof(s->text) - 1, 0);

	assert_true(n >= 0);
	s->text[n] = '\0';
	return s->text;
}

static void sink_close(struct sink *s)
{
	tracer_close(&s->t);
	close(s->fd);
}

/* text has a line matching the extended regex re */
static void assert_line(const char *text, const char *re)
{
	regex_t r;
	int m;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	m = regexec(&r, text, 0, NULL, 0);
	regfree(&r);
	if (m) {
		fprintf(stderr, "no line matches /%s/ in:\n%s", re, text);
		fail();
	}
}

static int lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* --- the parser --- */

static void test_parse_good(void **state)
{
	const char *path;
	unsigned m;
	char err[256];

	(void)state;
	assert_int_equal(trace_parse("pio", &m, &path, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_PIO);
	assert_null(path);
	assert_int_equal(trace_parse("pio,mmio:/tmp/t.log", &m, &path, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_PIO | TRACE_MMIO);
	assert_string_equal(path, "/tmp/t.log");
	assert_int_equal(trace_parse("irq,virtio,exits,kvm", &m, &path, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_IRQ | TRACE_VIRTIO | TRACE_EXITS | TRACE_KVM);
	assert_int_equal(trace_parse("all", &m, &path, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_ALL);
	assert_int_equal(trace_parse("pio,all:f:g", &m, &path, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_ALL);
	assert_string_equal(path, "f:g"); /* the first ':' ends the classes */
	assert_int_equal(trace_parse("help", &m, &path, err, sizeof(err)), 1);
	assert_non_null(strstr(trace_help(), "virtio"));
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *spec, *says;
	} bad[] = {
		{ "", "empty event class" },
		{ "pio,", "empty event class" },
		{ ",pio", "empty event class" },
		{ "pio,,mmio", "empty event class" },
		{ ":/tmp/x", "empty event class" },
		{ "pio:", "no file name" },
		{ "foo", "unknown event class \"foo\"" },
		{ "pio,PIO", "unknown event class \"PIO\"" },
		{ "pio,help", "unknown event class \"help\"" },
		{ "exit", "unknown event class \"exit\"" },
	};
	const char *path;
	unsigned m = 77;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(trace_parse(bad[i].spec, &m, &path, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].says)) {
			fprintf(stderr, "\"%s\": \"%s\" lacks \"%s\"\n", bad[i].spec, err,
				bad[i].says);
			fail();
		}
	}
	assert_int_equal(m, 77); /* untouched on error */
}

/* --- each event kind --- */

static uint64_t null_read(void *o, uint64_t off, unsigned size)
{
	(void)o, (void)off, (void)size;
	return 0;
}

static void null_write(void *o, uint64_t off, uint64_t v, unsigned size)
{
	(void)o, (void)off, (void)v, (void)size;
}

static const struct bus_dev_ops null_ops = { null_read, null_write };

static void test_access_lines(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct bus pio, mmio;
	uint8_t b = 0x41;
	uint32_t w = 0xdeadbeef;
	const char *t;

	(void)state;
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	assert_int_equal(bus_insert(&pio, 0x3f8, 8, &null_ops, NULL, "com1"), 0);
	assert_int_equal(bus_insert(&mmio, 0xfebf0000, 0x4000, &null_ops, NULL, "virtio-blk0"), 0);
	sink_open(s, TRACE_PIO | TRACE_MMIO);
	trace_access(&s->t, 0, &pio, false, 0x3fd, true, 1, &b);
	trace_access(&s->t, 2, &mmio, true, 0xfebf1004, false, 4, &w);
	trace_access(&s->t, 1, &mmio, true, 0xd0000000, true, 4, &w);
	t = sink_text(s);
	assert_int_equal(lines(t), 3);
	assert_line(t, "^[0-9]+\\.[0-9]{9} vcpu0 pio write port=0x3fd size=1 data=0x41 "
		       "dev=com1 offset=0x5$");
	assert_line(t, "^[0-9]+\\.[0-9]{9} vcpu2 mmio read gpa=0xfebf1004 size=4 "
		       "data=0xdeadbeef dev=virtio-blk0 offset=0x1004$");
	assert_line(t, " vcpu1 mmio write gpa=0xd0000000 size=4 data=0xdeadbeef dev=- offset=-$");
	sink_close(s);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	free(s);
}

static void test_exit_lines(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct kvm_run run;
	const char *t;

	(void)state;
	sink_open(s, TRACE_EXITS);
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_IO;
	run.io.port = 0x3f8;
	run.io.direction = KVM_EXIT_IO_OUT;
	run.io.size = 1;
	run.io.count = 1;
	trace_exit(&s->t, 0, &run);
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_MMIO;
	run.mmio.phys_addr = 0xfec00000;
	run.mmio.len = 4;
	trace_exit(&s->t, 3, &run);
	run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run.system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	trace_exit(&s->t, 0, &run);
	run.exit_reason = 9999;
	trace_exit(&s->t, 0, &run);
	trace_exit_intr(&s->t, 1, EINTR);
	t = sink_text(s);
	assert_int_equal(lines(t), 5);
	assert_line(t, " vcpu0 exits IO port=0x3f8 out size=1 count=1$");
	assert_line(t, " vcpu3 exits MMIO gpa=0xfec00000 read len=4$");
	assert_line(t, " vcpu0 exits SYSTEM_EVENT type=1$");
	assert_line(t, " vcpu0 exits 9999$");
	assert_line(t, " vcpu1 exits INTR errno=EINTR ");
	sink_close(s);
	free(s);
}

static void test_kvm_lines(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	const char *t;

	(void)state;
	assert_int_equal(prctl(PR_SET_NAME, "io", 0, 0, 0), 0);
	sink_open(s, TRACE_KVM);
	trace_kvm(&s->t, "KVM_IRQ_LINE", 0, "gsi=%u level=%d", 4, 1);
	trace_kvm(&s->t, "KVM_IRQFD", -EINVAL, "fd=%d", 9);
	t = sink_text(s);
	assert_line(t, "^[0-9]+\\.[0-9]{9} io kvm KVM_IRQ_LINE gsi=4 level=1 result=0$");
	assert_line(t, " io kvm KVM_IRQFD fd=9 result=-22 \\(Invalid argument\\)$");
	sink_close(s);

	/* a line too long for the buffer is cut, says so, and still ends */
	char big[TRACE_LINE_MAX * 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sink_open(s, TRACE_KVM);
	trace_emit(&s->t, TRACE_KVM, "big=%s", big);
	t = sink_text(s);
	assert_int_equal(lines(t), 1);
	assert_int_equal(strlen(t), TRACE_LINE_MAX - 1);
	assert_line(t, " io kvm big=xxxx*\\.\\.\\.$");
	sink_close(s);
	free(s);
}

/* A chip that records levels and describes GSI 4 as KVM's would. */
struct rec_chip {
	unsigned levels;
	uint64_t redir;
};

static int rc_level(void *o, unsigned gsi, int level)
{
	(void)gsi, (void)level;
	((struct rec_chip *)o)->levels++;
	return 0;
}

static int rc_msi(void *o, uint64_t a, uint32_t d)
{
	(void)o, (void)a, (void)d;
	return 0;
}

static int rc_describe(void *o, unsigned gsi, struct irq_route_desc *d)
{
	d->ioapic_pin = (int)gsi;
	d->redir = ((struct rec_chip *)o)->redir;
	d->pic = 0;
	d->pic_pin = gsi;
	d->pic_masked = true;
	return 0;
}

static const struct irqchip_ops rc_ops = {
	.set_level = rc_level, .msi = rc_msi, .describe_gsi = rc_describe,
};

static void test_irq_lines(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	/* vector 0x31, fixed, physical, dest 1, level, low, unmasked, remote IRR */
	struct rec_chip rc = { .redir = 0x31 | 1u << 13 | 1u << 14 | 1u << 15 | 1ULL << 56 };
	struct irqchip chip = { &rc_ops, &rc, NULL };
	struct irq_line line = { &chip, 4, "com1" };
	const char *t;

	(void)state;
	assert_int_equal(prctl(PR_SET_NAME, "vcpu0", 0, 0, 0), 0);
	sink_open(s, TRACE_IRQ);
	chip.tr = &s->t;
	assert_int_equal(irq_line_set(&line, 1), 0);
	trace_irq_msi(&s->t, "virtio-blk0", 1, 0xfee01000, 0x4022, "irqfd");
	trace_irq_msi_route(&s->t, "virtio-net0", 2, 7, 0xfee0000c, 0x8041, 0);
	trace_irq_ioapic(&s->t, 2, 0x10030, "masked");
	trace_irq_pic(&s->t, 1, 4, 0x74, "deliver");
	t = sink_text(s);
	assert_int_equal(rc.levels, 1);
	assert_int_equal(lines(t), 5);
	assert_line(t, " vcpu0 irq line dev=com1 gsi=4 level=1 ioapic_pin=4 "
		       "redir=0x10000000000e031 vector=0x31 delivery=fixed dest_mode=physical "
		       "dest=0x1 trigger=level polarity=low mask=0 remote_irr=1 "
		       "pic=master:4 pic_masked=1 result=0$");
	assert_line(t, " irq msi dev=virtio-blk0 entry=1 addr=0xfee01000 data=0x4022 "
		       "vector=0x22 delivery=fixed dest_mode=physical dest=0x1 trigger=edge via=irqfd$");
	assert_line(t, " irq msi-route dev=virtio-net0 entry=2 route=7 addr=0xfee0000c "
		       "data=0x8041 vector=0x41 delivery=fixed dest_mode=logical dest=0x0 "
		       "trigger=level result=0$");
	assert_line(t, " irq ioapic masked pin=2 redir=0x10030 vector=0x30 delivery=fixed "
		       "dest_mode=physical dest=0x0 trigger=edge polarity=high mask=1 remote_irr=0$");
	assert_line(t, " irq pic deliver chip=slave pin=4 irq=12 vector=0x74$");
	sink_close(s);
	free(s);
}

static void test_virtio_lines(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct guest_mem mem;
	struct virtio_rng *rng;
	struct virtio_dev *d;
	struct drv_ring r;
	gpa_t buf;
	uint16_t head;
	uint32_t len;
	const char *t;

	(void)state;
	assert_int_equal(prctl(PR_SET_NAME, "io", 0, 0, 0), 0);
	assert_int_equal(guest_mem_init(&mem, 2 << 20), 0);
	assert_int_equal(virtio_rng_create(&rng, 0, &mem, NULL), 0);
	d = virtio_rng_dev(rng);
	drv_ring_init(&r, &mem, 16, 0x10000, 2 << 20);
	assert_true(drv_start(d, &r, 0, 0) & VIRTIO_CONFIG_S_DRIVER_OK);
	sink_open(s, TRACE_VIRTIO);
	virtio_dev_set_tracer(d, &s->t);
	buf = drv_alloc(&r, 64, 16);
	drv_add(&r, &(struct drv_buf){ buf, 64, true }, 1);
	drv_kick(d, 0);
	assert_true(drv_used(&r, &head, &len));
	t = sink_text(s);
	assert_line(t, "^[0-9.]+ io virtio push dev=virtio-rng0 queue=0 head=0 len=64 used_idx=1$");
	assert_line(t, " io virtio interrupt dev=virtio-rng0 queue=0 line=isr$");
	/* a second request: only its own push is traced */
	drv_add(&r, &(struct drv_buf){ buf, 32, true }, 1);
	drv_kick(d, 0);
	t = sink_text(s);
	assert_int_equal(lines(t), 4);
	assert_line(t, " push dev=virtio-rng0 queue=0 head=1 len=32 used_idx=2$");
	/* a notify with nothing new pushed says nothing */
	virtio_lock(d);
	virtio_notify(d, 0);
	virtio_unlock(d);
	assert_int_equal(lines(sink_text(s)), 4);
	/* the driver asks for no interrupts: the push, then "suppressed" */
	((struct vring_avail *)drv_ptr(&r, r.avail, 4))->flags = VRING_AVAIL_F_NO_INTERRUPT;
	drv_add(&r, &(struct drv_buf){ buf, 16, true }, 1);
	drv_kick(d, 0);
	t = sink_text(s);
	assert_int_equal(lines(t), 6);
	assert_line(t, " push dev=virtio-rng0 queue=0 head=2 len=16 used_idx=3$");
	assert_line(t, " interrupt dev=virtio-rng0 queue=0 suppressed=by-driver$");
	sink_close(s);
	virtio_rng_destroy(rng);
	guest_mem_destroy(&mem);
	free(s);
}

/* --- the off path, write errors, and threads --- */

static void test_off_writes_nothing(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct rec_chip rc = { 0 };
	struct irqchip chip = { &rc_ops, &rc, NULL };
	struct irq_line line = { &chip, 4, "com1" };

	(void)state;
	assert_false(trace_on(NULL, TRACE_ALL));
	sink_open(s, TRACE_PIO); /* on, but not for irq */
	chip.tr = &s->t;
	assert_true(trace_on(&s->t, TRACE_PIO));
	assert_false(trace_on(&s->t, TRACE_IRQ | TRACE_EXITS));
	irq_line_set(&line, 1);
	irq_line_set(&line, 0);
	assert_int_equal(rc.levels, 2);
	assert_string_equal(sink_text(s), "");
	sink_close(s);

	/* a tracer opened with no class writes nowhere and opens nothing */
	struct tracer off;
	assert_int_equal(tracer_open(&off, 0, "/nonexistent/dir/t.log"), 0);
	assert_false(trace_on(&off, TRACE_ALL));
	tracer_close(&off);
	free(s);
}

static void test_write_error_turns_off(void **state)
{
	struct tracer t;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	(void)state;
	if (fd < 0)
		skip();
	tracer_init_fd(&t, TRACE_ALL, fd);
	trace_emit(&t, TRACE_KVM, "first"); /* ENOSPC: says so once */
	assert_false(trace_on(&t, TRACE_ALL));
	close(fd);
}

static void test_open_errors(void **state)
{
	struct tracer t;

	(void)state;
	assert_int_equal(tracer_open(&t, TRACE_PIO, "/nonexistent/dir/t.log"), -ENOENT);
	assert_false(trace_on(&t, TRACE_ALL));
	tracer_close(&t);
}

#define THREADS 4
#define PER_THREAD 3000

static void *writer(void *arg)
{
	struct tracer *t = arg;
	char name[16];
	static const char pad[] = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop"
				  "qrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789";

	for (int i = 0; i < PER_THREAD; i++) {
		if (i == 0) {
			snprintf(name, sizeof(name), "t%lu", (unsigned long)(uintptr_t)pthread_self() % 1000);
		}
		trace_emit_who(t, name, TRACE_PIO, "n=%d pad=%s end", i, pad);
	}
	return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
	char path[] = "/tmp/petrel-trace-XXXXXX";
	int fd = mkstemp(path);
	struct tracer t;
	pthread_t th[THREADS];
	FILE *f;
	char line[TRACE_LINE_MAX + 2];
	regex_t re;
	int n = 0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tracer_open(&t, TRACE_PIO, path), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, &t), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	tracer_close(&t);
	assert_int_equal(regcomp(&re, "^[0-9]+\\.[0-9]{9} t[0-9]+ pio n=[0-9]+ pad=0123[0-9a-z]+ end\n$",
				 REG_EXTENDED | REG_NOSUB), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (regexec(&re, line, 0, NULL, 0)) {
			fprintf(stderr, "a broken line: %s", line);
			fail();
		}
		n++;
	}
	fclose(f);
	regfree(&re);
	unlink(path);
	assert_int_equal(n, THREADS * PER_THREAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_access_lines),
		cmocka_unit_test(test_exit_lines),
		cmocka_unit_test(test_kvm_lines),
		cmocka_unit_test(test_irq_lines),
		cmocka_unit_test(test_virtio_lines),
		cmocka_unit_test(test_off_writes_nothing),
		cmocka_unit_test(test_write_error_turns_off),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_threads_do_not_interleave),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
