/*
 * The GDB remote serial protocol's framing: "$payload#cs", with '}' escapes
 * (the next byte XOR 0x20), '*' run-length encoding ("x*n": x repeated
 * n - 29 more times) and the one-byte acknowledgements '+' and '-'. A bare
 * 0x03 outside a packet is an interrupt request (Ctrl-C in gdb).
 *
 * The receiver is a byte-at-a-time state machine: the connection is a
 * stream and a packet may arrive in any number of reads. Everything it is
 * fed comes from the network, so every input, however malformed, ends in an
 * event and never in a write outside the packet buffer.
 */
#ifndef PETREL_GDB_PACKET_H
#define PETREL_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The largest packet we accept or send, decoded (the qSupported PacketSize
 * we advertise): a 'G' of the whole register file (1200 hex digits) and an
 * 'm' of 2 KiB fit.
 */
#define GDB_PKT_MAX 8192

enum gdb_rx_event {
	GDB_RX_NONE,      /* byte consumed, nothing complete yet */
	GDB_RX_PACKET,    /* rx->buf holds rx->len decoded bytes (NUL after them) */
	GDB_RX_BAD,       /* a packet with a wrong checksum or a bad encoding: NAK it */
	GDB_RX_ACK,       /* '+' */
	GDB_RX_NAK,       /* '-': resend the last packet */
	GDB_RX_INTERRUPT, /* 0x03 outside a packet */
};

struct gdb_rx {
	int state;
	uint8_t sum;      /* of the raw bytes between '$' and '#' */
	uint8_t csum;     /* the first checksum digit's value */
	bool overflow;    /* more raw bytes than fit: the packet is bad */
	size_t raw_len;
	uint8_t raw[GDB_PKT_MAX];
	size_t len;
	uint8_t buf[GDB_PKT_MAX + 1];
};

void gdb_rx_init(struct gdb_rx *rx);
/* Feeds one byte from the connection. */
enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, uint8_t byte);

/*
 * Undoes '}' escapes and '*' run lengths of raw[0..len) into out (at most
 * cap bytes). The decoded length, or -EINVAL for a dangling '}', a '*' with
 * no byte before it or no count after it, a count outside 3..97 ('#'-29 and
 * '$'-29 are not allowed as counts) or -E2BIG when it does not fit.
 */
int gdb_decode(const uint8_t *raw, size_t len, uint8_t *out, size_t cap);

/*
 * Frames payload[0..len) as "$...#cs" into out (cap bytes), escaping '#',
 * '$', '}' and '*' so that binary payloads (qXfer) pass. The framed length,
 * or -E2BIG.
 */
int gdb_frame(const void *payload, size_t len, char *out, size_t cap);

/* The checksum of the protocol: the bytes' sum modulo 256. */
uint8_t gdb_checksum(const void *p, size_t len);

/* Hex helpers for the payloads: bytes <-> lowercase hex digits. */
int gdb_hex_digit(int c); /* 0..15 or -1 */
/* Writes 2*len digits (no NUL); returns 2*len. */
size_t gdb_hex_encode(const void *in, size_t len, char *out);
/* Decodes exactly 2*len digits from in; 0 or -EINVAL. */
int gdb_hex_decode(const char *in, size_t len, void *out);
/*
 * Parses a hex number at *p (at least one digit, at most 16), advancing *p
 * past it. 0 or -EINVAL (no digit, or too many).
 */
int gdb_parse_hex(const char **p, uint64_t *v);

#endif
