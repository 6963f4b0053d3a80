/*
 * libFuzzer target for virtio-console (src/virtio/console.c) behind the
 * virtqueue and the virtio core: guest RAM holds both queues' rings and
 * buffers; the driver kicks, changes RAM and resets between host input
 * arriving and a sink that fills up and drains.
 *
 * Input (vqf_input.h), ops op % 6 ==
 *   0  kick queue a & 1 (0 receiveq0, 1 transmitq0)
 *   1  host input: virtio_console_receive of a bytes, b + i
 *   2  the sink takes a | b << 8 more bytes before it is full; when c & 1,
 *      virtio_console_tx_ready
 *   3  RAM byte at (a | b << 8) & 0x7fff = c (rings and the first data)
 *   4  reset and bring the device up again
 *   5  config read of 1 + b % 8 bytes at a % 16
 *
 * Checked: petrel touches no memory outside RAM (ASan); each queue answers
 * only chains it took; once the sink came up short it is not written again
 * before tx_ready (or a device reset drops the held chain); the sink never
 * gets an empty or oversized write; bytes_out counts what the sink took and
 * bytes_in what receive placed, which is never more than offered and
 * nothing while the driver is not running; rx_ready comes only from a kick
 * of receiveq0 after a receive came up short, once; the config space (no
 * F_SIZE, no MULTIPORT) reads zero.
 */
#include <stdlib.h>
#include <string.h>

#include "petrel/memory.h"
#include "petrel/util.h"
#include "petrel/virtio_console.h"
#include "vqf_common.h"

struct fz {
	size_t budget;
	bool blocked;   /* the sink came up short: no write before tx_ready */
	bool rx_short;  /* a receive came up short: rx_ready may come */
	int kicking;    /* the queue being kicked, or -1 */
	uint64_t out, in;
};

static size_t fz_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fz *z = opaque;
	size_t n = MIN(len, z->budget);

	(void)buf;
	CHECK(!z->blocked && len > 0 && len <= 4096);
	z->budget -= n;
	z->out += n;
	if (n < len)
		z->blocked = true;
	return n;
}

static void fz_rx_ready(void *opaque)
{
	struct fz *z = opaque;

	CHECK(z->kicking == VIRTIO_CONSOLE_RX_Q && z->rx_short);
	z->rx_short = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { .budget = 1 << 20, .kicking = -1 };
	struct guest_mem mem;
	struct virtio_console *c;
	struct virtio_dev *d;
	uint8_t *ram, buf[256], cfg[8];
	size_t nops, ram_off, n;

	if (size < VQF_HDR_SIZE)
		return 0;
	nops = MIN((size_t)data[2], (size - VQF_HDR_SIZE) / VQF_OP_SIZE);
	ram_off = VQF_HDR_SIZE + nops * VQF_OP_SIZE;
	CHECK(guest_mem_init(&mem, VQF_RAM_SIZE) == 0);
	ram = gpa_ptr(&mem, 0, VQF_RAM_SIZE);
	memcpy(ram, data + ram_off, MIN(size - ram_off, (size_t)VQF_RAM_SIZE));
	CHECK(virtio_console_create(&c, 0, (struct virtio_console_sink){ fz_write, fz_rx_ready, &z },
				    &mem, NULL) == 0);
	d = virtio_console_dev(c);
	vqf_start(d, data[0], data[1]);
	for (size_t i = 0; i < nops; i++) {
		const uint8_t *o = data + VQF_HDR_SIZE + i * VQF_OP_SIZE;
		bool running;

		switch (o[0] % 6) {
		case 0:
			z.kicking = o[1] & 1;
			vqf_kick(d, o[1] & 1);
			z.kicking = -1;
			break;
		case 1:
			for (unsigned k = 0; k < o[1]; k++)
				buf[k] = (uint8_t)(o[2] + k);
			running = (virtio_get_status(d) & VIRTIO_CONFIG_S_DRIVER_OK) &&
				  !(virtio_get_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET);
			n = virtio_console_receive(c, buf, o[1]);
			CHECK(n <= o[1] && (running || n == 0));
			if (n < o[1])
				z.rx_short = true;
			z.in += n;
			break;
		case 2:
			z.budget = (size_t)(o[1] | o[2] << 8);
			if (o[3] & 1) {
				z.blocked = false;
				virtio_console_tx_ready(c);
			}
			break;
		case 3:
			ram[(o[1] | o[2] << 8) & 0x7fff] = o[3];
			break;
		case 4:
			z.blocked = false; /* the reset drops the chain the sink held up */
			vqf_start(d, data[0], data[1]);
			break;
		case 5:
			memset(cfg, 0xa5, sizeof(cfg));
			virtio_config_read(d, o[1] % 16, cfg, 1 + o[2] % 8);
			for (unsigned k = 0; k < 1 + o[2] % 8u; k++)
				CHECK(cfg[k] == 0);
			break;
		}
		vqf_check_rings(d);
		CHECK(virtio_console_bytes_out(c) == z.out && virtio_console_bytes_in(c) == z.in);
	}
	virtio_console_destroy(c);
	guest_mem_destroy(&mem);
	return 0;
}
