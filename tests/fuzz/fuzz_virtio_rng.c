/*
 * libFuzzer target for virtio-rng (src/virtio/rng.c) behind the virtqueue
 * and the virtio core: guest RAM holds the rings and buffers, and the
 * driver kicks, changes RAM between kicks and resets the device.
 *
 * Input (vqf_input.h), ops op % 3 ==
 *   0  kick queue 0
 *   1  RAM byte at (a | b << 8) & 0x7fff = c (rings and the first data)
 *   2  reset and bring the device up again
 *
 * Checked: petrel touches no memory outside RAM (ASan); each kick answers
 * only chains it took; the request counter is the number of used entries
 * pushed, and no request got more than VIRTIO_RNG_MAX_REQ bytes. (The
 * used ring itself is not read back: a hostile driver may point buffers
 * at it.)
 */
#include <stdlib.h>
#include <string.h>

#include "petrel/memory.h"
#include "petrel/util.h"
#include "petrel/virtio_rng.h"
#include "vqf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem;
	struct virtio_rng *r;
	struct virtio_dev *d;
	uint8_t *ram;
	size_t nops, ram_off;
	uint64_t requests = 0;

	if (size < VQF_HDR_SIZE)
		return 0;
	nops = MIN((size_t)data[2], (size - VQF_HDR_SIZE) / VQF_OP_SIZE);
	ram_off = VQF_HDR_SIZE + nops * VQF_OP_SIZE;
	CHECK(guest_mem_init(&mem, VQF_RAM_SIZE) == 0);
	ram = gpa_ptr(&mem, 0, VQF_RAM_SIZE);
	memcpy(ram, data + ram_off, MIN(size - ram_off, (size_t)VQF_RAM_SIZE));
	CHECK(virtio_rng_create(&r, 0, &mem, NULL) == 0);
	d = virtio_rng_dev(r);
	vqf_start(d, data[0], data[1]);
	for (size_t i = 0; i < nops; i++) {
		const uint8_t *o = data + VQF_HDR_SIZE + i * VQF_OP_SIZE;
		uint16_t before;

		switch (o[0] % 3) {
		case 0:
			virtio_lock(d);
			before = virtio_queue(d, 0)->vq.used_idx;
			virtio_unlock(d);
			vqf_kick(d, 0);
			vqf_check_rings(d);
			virtio_lock(d);
			requests += (uint16_t)(virtio_queue(d, 0)->vq.used_idx - before);
			virtio_unlock(d);
			CHECK(virtio_rng_requests(r) == requests);
			CHECK(virtio_rng_bytes(r) <= requests * VIRTIO_RNG_MAX_REQ);
			break;
		case 1:
			ram[(o[1] | o[2] << 8) & 0x7fff] = o[3];
			break;
		case 2:
			vqf_start(d, data[0], data[1]);
			break;
		}
	}
	virtio_rng_destroy(r);
	guest_mem_destroy(&mem);
	return 0;
}
