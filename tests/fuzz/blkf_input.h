/*
 * The input format of fuzz_virtio_blk, shared with its seed generator
 * (mkseeds_virtio_blk.c):
 *
 *   u8 size_log2   queue size 1 << (size_log2 % 9)
 *   u8 features    bit 0 EVENT_IDX, 1 INDIRECT_DESC, 2 FLUSH, 3 DISCARD,
 *                  4 WRITE_ZEROES (the driver accepts those offered)
 *   u8 kicks       1 + kicks % 4 kicks
 *   u8 flags       bit 0: the read-only disk
 *   the rest: guest RAM from gpa 0 (the descriptor table at BLKF_DESC,
 *   the avail ring at BLKF_AVAIL, the used ring at BLKF_USED; buffers
 *   anywhere); RAM past the input is zero.
 */
#ifndef FUZZ_BLKF_INPUT_H
#define FUZZ_BLKF_INPUT_H

#define BLKF_HDR_SIZE 4
#define BLKF_RAM_SIZE 0x10000
#define BLKF_DESC 0x0
#define BLKF_AVAIL 0x1000
#define BLKF_USED 0x2000
#define BLKF_DATA 0x3000
#define BLKF_DISK_SIZE (64 * 1024)

#endif
