/*
 * libFuzzer target for the GDB stub's input path: the bytes a peer sends on
 * the connection go through the packet receiver (src/gdb/packet.c) and
 * every packet it completes into the protocol engine (src/gdb/stub.c),
 * against a fake target of two vCPUs and one mapped page, as gdb_server.c
 * does. Each reply is framed as it would be sent. Nothing may crash, read
 * or write out of bounds, or produce a reply that does not frame.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "petrel/gdb_packet.h"
#include "petrel/gdb_stub.h"

#include "fuzz_check.h"

#define PAGE 0x1000

struct fz {
	struct gdb_cpu_state cpu[2];
	uint8_t page[PAGE];
};

static int fz_get(void *t, unsigned cpu, struct gdb_cpu_state *s)
{
	struct fz *f = t;
	CHECK(cpu < 2);
	*s = f->cpu[cpu];
	return 0;
}

static int fz_set(void *t, unsigned cpu, const struct gdb_cpu_state *s)
{
	struct fz *f = t;
	CHECK(cpu < 2);
	f->cpu[cpu] = *s;
	return 0;
}

/* one page at 0x1000; the rest of the address space is unmapped */
static size_t fz_span(uint64_t gva, size_t len)
{
	if (gva < PAGE || gva >= 2 * PAGE)
		return 0;
	return len < 2 * PAGE - gva ? len : (size_t)(2 * PAGE - gva);
}

static int fz_read(void *t, unsigned cpu, uint64_t gva, void *buf, size_t len)
{
	struct fz *f = t;
	size_t n = fz_span(gva, len);
	CHECK(cpu < 2);
	memcpy(buf, f->page + (n ? gva - PAGE : 0), n);
	return (int)n;
}

static int fz_write(void *t, unsigned cpu, uint64_t gva, const void *buf, size_t len)
{
	struct fz *f = t;
	size_t n = fz_span(gva, len);
	CHECK(cpu < 2);
	memcpy(f->page + (n ? gva - PAGE : 0), buf, n);
	return (int)n;
}

static int fz_resume(void *t, const enum gdb_run *run, const struct gdb_debug *d)
{
	(void)t;
	for (int i = 0; i < 2; i++)
		CHECK(run[i] <= GDB_RUN_STEP);
	CHECK(!(d->dr7 >> 32));
	return 0;
}

static void fz_kill(void *t)
{
	(void)t;
}

static const struct gdb_target_ops ops = {
	.get_state = fz_get, .set_state = fz_set, .read_mem = fz_read,
	.write_mem = fz_write, .resume = fz_resume, .kill = fz_kill,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gdb_rx rx;
	static struct gdb_reply r;
	static char framed[2 * GDB_PKT_MAX + 4];
	static struct fz f;
	struct gdb_session s;

	memset(&f, 0, sizeof(f));
	gdb_rx_init(&rx);
	gdb_session_init(&s, &ops, &f, 2);
	for (size_t i = 0; i < size; i++) {
		enum gdb_rx_event e = gdb_rx_feed(&rx, data[i]);
		if (e != GDB_RX_PACKET) {
			CHECK(e <= GDB_RX_INTERRUPT);
			continue;
		}
		CHECK(rx.len <= GDB_PKT_MAX && rx.buf[rx.len] == 0);
		enum gdb_action a = gdb_session_packet(&s, rx.buf, rx.len, &r);
		CHECK(a <= GDB_KILLED && r.len <= sizeof(r.buf));
		CHECK(gdb_frame(r.buf, r.len, framed, sizeof(framed)) > 0);
		/* a stop in between, as the server reports one after a resume */
		if (a == GDB_RESUMED) {
			struct gdb_stop ev = { .kind = GDB_STOP_DEBUG, .cpu = data[i] & 3,
					       .exception = data[i] & 1 ? 3 : 1,
					       .dr6 = data[i], .pc = 0x1000 + data[i] };
			gdb_session_stopped(&s, &ev, &r);
			CHECK(r.len > 0 && r.len < 128);
		}
		CHECK(s.nr_sw <= GDB_MAX_SW_BP);
	}
	return 0;
}
