/*
 * A Unix stream socket as the host end of a byte-stream device (the
 * virtio-console port): petrel listens on a path, one client at a time,
 * bytes both ways.
 *
 * - Guest output (the sink's write) goes into a bounded buffer
 *   (VCONSOLE_SOCK_BUF) that the I/O thread sends with MSG_DONTWAIT; with
 *   a client that does not read, write takes fewer bytes and the device
 *   holds the rest until dev.tx_ready. Without a client the buffer keeps
 *   the first bytes for the next one and the rest is dropped (counted):
 *   nobody would ever drain it, and a guest must not hang on a console
 *   nobody watches.
 * - Client input is peeked, handed to dev.deliver, and only what the
 *   device took is consumed; when it takes less, the socket is not read
 *   (EPOLLIN off) until the sink's rx_ready, so the bytes wait in the
 *   socket and the back-pressure reaches the client. Nothing is lost.
 * - A client that closes (or half-closes, then closes) is dropped and the
 *   socket accepts the next one; a new one gets what the buffer holds.
 *
 * The path is created at open (a stale socket nobody listens on is
 * replaced; anything else there is an error) and removed at close.
 * Threading: callbacks run on the I/O thread; the sink may be called from
 * any thread; a lock of its own guards the state and is never held while
 * calling dev (which may hold its own lock when it calls the sink).
 */
#ifndef PETREL_VCONSOLE_SOCK_H
#define PETREL_VCONSOLE_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "petrel/console.h"

struct evloop;

#define VCONSOLE_SOCK_BUF (64u * 1024)

struct vconsole_sock;

/* Listens on path, watched by loop. 0 or -errno (said on stderr). */
int vconsole_sock_open(struct vconsole_sock **out, const char *path,
		       struct evloop *loop);
/* The device behind it; before the loop runs. */
void vconsole_sock_set_dev(struct vconsole_sock *s, struct console_dev dev);
/* The device's sink (opaque = s): write and rx_ready. */
size_t vconsole_sock_write(void *opaque, const uint8_t *buf, size_t len);
void vconsole_sock_rx_ready(void *opaque);
/* After the loop stopped (or before it started). NULL is fine. */
void vconsole_sock_close(struct vconsole_sock *s);
void vconsole_sock_print_stats(struct vconsole_sock *s);

#endif
