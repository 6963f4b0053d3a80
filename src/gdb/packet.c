/* GDB remote protocol framing (gdb_packet.h). */
#include <errno.h>
#include <string.h>

#include "petrel/gdb_packet.h"

enum { RX_IDLE, RX_DATA, RX_CSUM1, RX_CSUM2 };

void gdb_rx_init(struct gdb_rx *rx)
{
	rx->state = RX_IDLE;
	rx->sum = 0;
	rx->csum = 0;
	rx->overflow = false;
	rx->raw_len = 0;
	rx->len = 0;
	rx->buf[0] = 0;
}

int gdb_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t gdb_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *b++);
	return s;
}

int gdb_decode(const uint8_t *raw, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = raw[i];

		if (c == '}') {
			if (++i == len)
				return -EINVAL;
			c = raw[i] ^ 0x20;
		} else if (c == '*') {
			/*
			 * "x*n": x repeated n - 29 more times. gdb never uses
			 * a count that would read as '#' or '$' (6 and 7).
			 */
			if (o == 0 || ++i == len)
				return -EINVAL;
			int n = raw[i] - 29;
			if (n < 3 || n > 97 || raw[i] == '#' || raw[i] == '$')
				return -EINVAL;
			if ((size_t)n > cap - o)
				return -E2BIG;
			memset(out + o, out[o - 1], (size_t)n);
			o += (size_t)n;
			continue;
		}
		if (o == cap)
			return -E2BIG;
		out[o++] = c;
	}
	return (int)o;
}

enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, uint8_t c)
{
	int d;

	switch (rx->state) {
	case RX_IDLE:
		switch (c) {
		case '$':
			rx->state = RX_DATA;
			rx->sum = 0;
			rx->raw_len = 0;
			rx->overflow = false;
			return GDB_RX_NONE;
		case '+':
			return GDB_RX_ACK;
		case '-':
			return GDB_RX_NAK;
		case 0x03:
			return GDB_RX_INTERRUPT;
		default:
			return GDB_RX_NONE; /* line noise between packets */
		}
	case RX_DATA:
		if (c == '#') {
			rx->state = RX_CSUM1;
			return GDB_RX_NONE;
		}
		if (c == '$') {
			/* a packet cut short: start over with the new one */
			rx->sum = 0;
			rx->raw_len = 0;
			rx->overflow = false;
			return GDB_RX_NONE;
		}
		rx->sum = (uint8_t)(rx->sum + c);
		if (rx->raw_len < sizeof(rx->raw))
			rx->raw[rx->raw_len++] = c;
		else
			rx->overflow = true;
		return GDB_RX_NONE;
	case RX_CSUM1:
		if ((d = gdb_hex_digit(c)) < 0) {
			rx->state = RX_IDLE;
			return GDB_RX_BAD;
		}
		rx->csum = (uint8_t)(d << 4);
		rx->state = RX_CSUM2;
		return GDB_RX_NONE;
	case RX_CSUM2:
	default:
		rx->state = RX_IDLE;
		if ((d = gdb_hex_digit(c)) < 0 || (rx->csum | d) != rx->sum || rx->overflow)
			return GDB_RX_BAD;
		d = gdb_decode(rx->raw, rx->raw_len, rx->buf, GDB_PKT_MAX);
		if (d < 0)
			return GDB_RX_BAD;
		rx->len = (size_t)d;
		rx->buf[rx->len] = 0;
		return GDB_RX_PACKET;
	}
}

int gdb_frame(const void *payload, size_t len, char *out, size_t cap)
{
	const uint8_t *p = payload;
	size_t o = 0;
	uint8_t sum = 0;
	static const char hex[] = "0123456789abcdef";

	if (cap < 4)
		return -E2BIG;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		bool esc = c == '#' || c == '$' || c == '}' || c == '*';

		/* room for this byte (two if escaped) and "#cs" */
		if (cap - o < (esc ? 2u : 1u) + 3)
			return -E2BIG;
		if (esc) {
			out[o++] = '}';
			sum = (uint8_t)(sum + '}');
			c ^= 0x20;
		}
		out[o++] = (char)c;
		sum = (uint8_t)(sum + c);
	}
	out[o++] = '#';
	out[o++] = hex[sum >> 4];
	out[o++] = hex[sum & 15];
	return (int)o;
}

size_t gdb_hex_encode(const void *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = in;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	return 2 * len;
}

int gdb_hex_decode(const char *in, size_t len, void *out)
{
	uint8_t *b = out;

	for (size_t i = 0; i < len; i++) {
		int hi = gdb_hex_digit((unsigned char)in[2 * i]);
		int lo = hi < 0 ? -1 : gdb_hex_digit((unsigned char)in[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int gdb_parse_hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0, d;

	while ((d = gdb_hex_digit((unsigned char)*s)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}
