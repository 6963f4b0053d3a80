/*
 * The GDB remote protocol's framing (gdb_packet.h): checksums, escapes,
 * run-length decoding, acks and interrupts, and the packets a broken or
 * hostile peer sends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "petrel/gdb_packet.h"

static struct gdb_rx rx;

/* Feeds s; returns the last event that was not GDB_RX_NONE. */
static enum gdb_rx_event feed(const char *s, size_t len)
{
	enum gdb_rx_event last = GDB_RX_NONE, e;

	for (size_t i = 0; i < len; i++)
		if ((e = gdb_rx_feed(&rx, (uint8_t)s[i])) != GDB_RX_NONE)
			last = e;
	return last;
}
#define FEED(s) feed(s, sizeof(s) - 1)

static void test_checksum(void **state)
{
	(void)state;
	/* gdb's own: "$qSupported#37" and "$g#67" on the wire */
	assert_int_equal(gdb_checksum("qSupported", 10), 0x37);
	assert_int_equal(gdb_checksum("g", 1), 0x67);
	assert_int_equal(gdb_checksum("", 0), 0);
	gdb_rx_init(&rx);
	assert_int_equal(FEED("$g#67"), GDB_RX_PACKET);
	assert_int_equal(rx.len, 1);
	assert_string_equal((char *)rx.buf, "g");
	/* upper-case checksum digits are allowed */
	assert_int_equal(FEED("$qSupported#37"), GDB_RX_PACKET);
	assert_int_equal(FEED("$OK#9A"), GDB_RX_PACKET);
	assert_string_equal((char *)rx.buf, "OK");
	/* the empty packet */
	assert_int_equal(FEED("$#00"), GDB_RX_PACKET);
	assert_int_equal(rx.len, 0);
}

static void test_bad_packets(void **state)
{
	(void)state;
	gdb_rx_init(&rx);
	assert_int_equal(FEED("$g#68"), GDB_RX_BAD);  /* wrong sum */
	assert_int_equal(FEED("$g#6x"), GDB_RX_BAD);  /* not hex */
	assert_int_equal(FEED("$g#x7"), GDB_RX_BAD);
	/* after a bad one, the next good one still parses */
	assert_int_equal(FEED("$g#67"), GDB_RX_PACKET);
	/* a dangling escape */
	assert_int_equal(FEED("$a}#dd"), GDB_RX_BAD);
	/* a run with nothing before it, and one with no count */
	assert_int_equal(FEED("$* #4a"), GDB_RX_BAD);
	assert_int_equal(FEED("$a*#8b"), GDB_RX_BAD);
	/* counts below 3 ('\x1f' + 1) are not run lengths gdb sends */
	char p[16];
	snprintf(p, sizeof(p), "$a*\x1f#%02x", (unsigned)gdb_checksum("a*\x1f", 3));
	assert_int_equal(feed(p, strlen(p)), GDB_RX_BAD);
	/* a '$' inside a packet starts a new one: the first was cut short */
	assert_int_equal(FEED("$garbage$g#67"), GDB_RX_PACKET);
	assert_string_equal((char *)rx.buf, "g");
}

static void test_acks_and_interrupt(void **state)
{
	(void)state;
	gdb_rx_init(&rx);
	assert_int_equal(gdb_rx_feed(&rx, '+'), GDB_RX_ACK);
	assert_int_equal(gdb_rx_feed(&rx, '-'), GDB_RX_NAK);
	assert_int_equal(gdb_rx_feed(&rx, 0x03), GDB_RX_INTERRUPT);
	assert_int_equal(gdb_rx_feed(&rx, 'x'), GDB_RX_NONE); /* noise */
	/* inside a packet, '+' and 0x03 are data */
	char p[16];
	snprintf(p, sizeof(p), "$+\x03#%02x", (unsigned)gdb_checksum("+\x03", 2));
	assert_int_equal(feed(p, strlen(p)), GDB_RX_PACKET);
	assert_int_equal(rx.len, 2);
	assert_memory_equal(rx.buf, "+\x03", 2);
}

static void test_escapes_and_runs(void **state)
{
	uint8_t out[64];
	(void)state;
	/* '}' escapes: "}\x03" is '#' (0x23), "}]" is '}' */
	assert_int_equal(gdb_decode((const uint8_t *)"a}\x03" "b}]", 6, out, sizeof(out)), 4);
	assert_memory_equal(out, "a#b}", 4);
	/* "0* " is '0' and 3 more; "x*!" 4 more; the count may follow an escape */
	assert_int_equal(gdb_decode((const uint8_t *)"0* ", 3, out, sizeof(out)), 4);
	assert_memory_equal(out, "0000", 4);
	assert_int_equal(gdb_decode((const uint8_t *)"}]*!", 4, out, sizeof(out)), 5);
	assert_memory_equal(out, "}}}}}", 5);
	/* '~' is the longest run: 97 more */
	assert_int_equal(gdb_decode((const uint8_t *)"z*~", 3, out, sizeof(out)), -E2BIG);
	uint8_t big[128];
	assert_int_equal(gdb_decode((const uint8_t *)"z*~", 3, big, sizeof(big)), 98);
	/* runs that do not fit are refused, never truncated into memory */
	assert_int_equal(gdb_decode((const uint8_t *)"abc", 3, out, 2), -E2BIG);
	/* through the receiver: a register file gdb compressed */
	gdb_rx_init(&rx);
	char p[32];
	snprintf(p, sizeof(p), "$0*\x22" "1#%02x", (unsigned)gdb_checksum("0*\x22" "1", 4));
	assert_int_equal(feed(p, strlen(p)), GDB_RX_PACKET);
	assert_string_equal((char *)rx.buf, "0000001"); /* '0' and 5 more */
}

static void test_frame(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(gdb_frame("OK", 2, out, sizeof(out)), 6);
	assert_memory_equal(out, "$OK#9a", 6);
	/* the four special bytes go out escaped, and the sum covers the escapes */
	int n = gdb_frame("#$}*", 4, out, sizeof(out));
	assert_int_equal(n, 12);
	assert_memory_equal(out, "$}\x03}\x04}]}\x0a#", 10);
	/* and what we frame, we parse back */
	gdb_rx_init(&rx);
	assert_int_equal(feed(out, (size_t)n), GDB_RX_PACKET);
	assert_memory_equal(rx.buf, "#$}*", 4);
	/* no room: an error, not a cut packet */
	assert_int_equal(gdb_frame("OK", 2, out, 5), -E2BIG);
	assert_int_equal(gdb_frame("#", 1, out, 5), -E2BIG);
	assert_int_equal(gdb_frame("", 0, out, 4), 4);
}

static void test_split_and_overflow(void **state)
{
	static char big[GDB_PKT_MAX + 16];
	(void)state;
	gdb_rx_init(&rx);
	/* a packet in one-byte reads */
	const char *p = "$m1000,4#8e";
	for (size_t i = 0; i < strlen(p) - 1; i++)
		assert_int_equal(gdb_rx_feed(&rx, (uint8_t)p[i]), GDB_RX_NONE);
	assert_int_equal(gdb_rx_feed(&rx, 'e'), GDB_RX_PACKET);
	assert_string_equal((char *)rx.buf, "m1000,4");
	/* longer than the buffer: bad, and the next packet is fine */
	memset(big, 'a', sizeof(big));
	big[0] = '$';
	uint8_t sum = (uint8_t)((sizeof(big) - 1) * 'a');
	assert_int_equal(feed(big, sizeof(big)), GDB_RX_NONE);
	char tail[4];
	snprintf(tail, sizeof(tail), "#%02x", sum);
	assert_int_equal(feed(tail, 3), GDB_RX_BAD);
	assert_int_equal(FEED("$g#67"), GDB_RX_PACKET);
}

static void test_hex(void **state)
{
	uint8_t b[4];
	char h[8];
	uint64_t v;
	const char *p;
	(void)state;
	assert_int_equal(gdb_hex_encode("\x01\xab", 2, h), 4);
	assert_memory_equal(h, "01ab", 4);
	assert_int_equal(gdb_hex_decode("01aB", 2, b), 0);
	assert_memory_equal(b, "\x01\xab", 2);
	assert_int_equal(gdb_hex_decode("0g", 1, b), -EINVAL);
	p = "ffffffff81000000,4";
	assert_int_equal(gdb_parse_hex(&p, &v), 0);
	assert_true(v == 0xffffffff81000000ull);
	assert_string_equal(p, ",4");
	p = "11112222333344445";
	assert_int_equal(gdb_parse_hex(&p, &v), -EINVAL); /* 17 digits */
	p = ",4";
	assert_int_equal(gdb_parse_hex(&p, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_bad_packets),
		cmocka_unit_test(test_acks_and_interrupt),
		cmocka_unit_test(test_escapes_and_runs),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_split_and_overflow),
		cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
