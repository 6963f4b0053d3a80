/*
 * The input format of fuzz_virtio_rng and fuzz_virtio_console, shared with
 * their seed generator (mkseeds_vqf.c):
 *
 *   u8 size_log2   every queue's size 1 << (size_log2 % 7) (1..64)
 *   u8 features    bit 0 EVENT_IDX, bit 1 INDIRECT_DESC
 *   u8 nops        how many op records follow
 *   u8 flags       the target's
 *   nops records of 4 bytes: op, a, b, c (each target says what they mean)
 *   the rest: guest RAM from gpa 0, zero past the input. Queue q's
 *   descriptor table is at VQF_DESC(q), its avail ring at VQF_AVAIL(q), its
 *   used ring at VQF_USED(q); buffers anywhere.
 */
#ifndef FUZZ_VQF_INPUT_H
#define FUZZ_VQF_INPUT_H

#define VQF_HDR_SIZE 4
#define VQF_OP_SIZE 4
#define VQF_RAM_SIZE 0x10000
#define VQF_DESC(q) (0x0000u + (q) * 0x2000u)
#define VQF_AVAIL(q) (0x1000u + (q) * 0x2000u)
#define VQF_USED(q) (0x1800u + (q) * 0x2000u)
#define VQF_DATA 0x4000u

#endif
