/*
 * virtio-console (virtio 1.2, 5.3) with one port and no MULTIPORT: queue 0
 * is receiveq0 (host -> guest, device-writable buffers), queue 1 is
 * transmitq0 (guest -> host). Linux shows the port as /dev/hvc0.
 *
 * The device is a state machine between the virtqueues and a byte sink,
 * with the same contract as COM1's (serial8250.h), so the terminal console
 * (console.h) or a Unix socket (vconsole_sock.h) can sit behind it:
 *
 * - Transmit: each transmitq chain's readable bytes go to sink.write,
 *   which takes what it can without blocking. When it takes fewer, the
 *   device keeps that chain (and every later one) on the ring until
 *   virtio_console_tx_ready(): the back-pressure reaches the guest through
 *   the ring, never the I/O thread.
 * - Receive: virtio_console_receive() copies host bytes into receiveq
 *   buffers (one used entry per chain) and returns how many it placed. When
 *   it comes up short, the device calls sink.rx_ready once the driver adds
 *   buffers (a kick on queue 0); the caller keeps the rest until then.
 *
 * Threading: everything runs on the I/O thread under the device's lock:
 * sink.write and sink.rx_ready are called with it held (they must not call
 * back into the device; rx_ready only schedules), the two entry points
 * below take it.
 */
#ifndef PETREL_VIRTIO_CONSOLE_H
#define PETREL_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "petrel/evloop.h"
#include "petrel/memory.h"
#include "petrel/virtio.h"

#define VIRTIO_CONSOLE_QUEUE_SIZE 64
#define VIRTIO_CONSOLE_RX_Q 0
#define VIRTIO_CONSOLE_TX_Q 1

struct virtio_console_sink {
	/* guest output: bytes taken (0..len); the rest waits for tx_ready */
	size_t (*write)(void *opaque, const uint8_t *buf, size_t len);
	/* optional: receiveq buffers appeared after a short receive */
	void (*rx_ready)(void *opaque);
	void *opaque;
};

struct virtio_console;

/* "virtio-console<index>"; loop may be NULL in tests. 0 or -errno. */
int virtio_console_create(struct virtio_console **out, unsigned index,
			  struct virtio_console_sink sink,
			  const struct guest_mem *mem, struct evloop *loop);
struct virtio_dev *virtio_console_dev(struct virtio_console *c);
void virtio_console_destroy(struct virtio_console *c);

/* Host input for the guest: bytes placed in receiveq buffers (0..len). */
size_t virtio_console_receive(struct virtio_console *c, const uint8_t *buf,
			      size_t len);
/* The sink has room again after a short write: resume transmitting. */
void virtio_console_tx_ready(struct virtio_console *c);

/* Statistics: bytes the guest sent and received. */
uint64_t virtio_console_bytes_out(struct virtio_console *c);
uint64_t virtio_console_bytes_in(struct virtio_console *c);
void virtio_console_print_stats(struct virtio_console *c);

#endif
