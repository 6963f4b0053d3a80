/*
 * The input format of fuzz_virtqueue, shared with its seed generator
 * (mkseeds_virtqueue.c). All fields little-endian:
 *
 *   header (16 bytes)
 *     u8  size_log2    queue size is 1 << (size_log2 & 15): 2048 and up
 *                      must be refused
 *     u8  features     bit 0 EVENT_IDX, bit 1 INDIRECT_DESC
 *     u8  cap          iovecs the device offers per element (0..255)
 *     u8  nops         number of 4-byte operations that follow
 *     u32 desc, avail, used   offsets of the three areas from VQF_RAM_GPA
 *                      (anything: unaligned or outside RAM is fine)
 *   nops x { u8 op, u8 a, u8 b, u8 c }   see enum vqf_op
 *   the rest: the initial contents of guest RAM, from VQF_RAM_GPA (RAM
 *   beyond the input stays zero)
 *
 * Guest RAM is two regions, adjacent in guest-physical space but separate
 * host allocations, so that a buffer accepted across the boundary would be
 * an out-of-bounds access ASan reports.
 */
#ifndef FUZZ_VIRTQUEUE_INPUT_H
#define FUZZ_VIRTQUEUE_INPUT_H

#define VQF_RAM_GPA 0x10000ULL
#define VQF_REGION_SIZE 0x8000ULL
#define VQF_RAM_SIZE (2 * VQF_REGION_SIZE)
#define VQF_HDR_SIZE 16
#define VQF_MAX_HELD 8

enum vqf_op {
	VQF_OP_POP_PROCESS, /* pop; read a..., write b..., push */
	VQF_OP_POP_HOLD,    /* pop and keep the element for later */
	VQF_OP_COMPLETE,    /* finish the oldest held element */
	VQF_OP_NOTIFY,      /* virtq_should_notify */
	VQF_OP_ENABLE_KICK,
	VQF_OP_DISABLE_KICK,
	VQF_OP_POKE,        /* the driver writes c at offset (a | b << 8) * 2 */
	VQF_OP_AVAIL_ADD,   /* the driver makes head a | b << 8 available */
	VQF_OP_RESTART,     /* reset and start again with features c */
	VQF_OP_DRAIN,       /* pop and process until empty */
	VQF_OP_RESIZE,      /* a live queue's size becomes 1 << (a & 15) */
	VQF_OP_COUNT
};

#endif
