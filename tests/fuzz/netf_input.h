/*
 * The input formats of fuzz_virtio_net_tx and fuzz_virtio_net_rx, shared
 * with their seed generator (mkseeds_virtio_net.c):
 *
 *   u8 size_log2   queue size 1 << (size_log2 % 9) (both queues)
 *   u8 features    bit 0 EVENT_IDX, 1 INDIRECT_DESC, 2 MRG_RXBUF, 3 CSUM,
 *                  4 GUEST_CSUM, 5 HOST_TSO4 and GUEST_TSO4, 6 HOST_TSO6 and
 *                  GUEST_TSO6, 7 the ECN and UFO ones (offered only when
 *                  the flags say the backend has offloads)
 *   u8 kicks       1 + kicks % 4 rounds
 *   u8 flags       bit 0: the backend has offloads (a tap with vnet
 *                  header); tx: bit 1 the backend answers -EAGAIN once, bit
 *                  2 -EIO once; rx: bits 1-7 seed which frames find no
 *                  room (the backend keeps them)
 *   NETF_RAM_IN bytes of guest RAM from gpa 0 (descriptor table at
 *   NETF_DESC, avail ring at NETF_AVAIL, used ring at NETF_USED; buffers
 *   anywhere), zero past the input
 *   rx only, the rest: frames the backend injects, each u16 len (LE), a
 *   12-byte virtio_net_hdr_v1, len bytes (cut short at the input's end)
 */
#ifndef FUZZ_NETF_INPUT_H
#define FUZZ_NETF_INPUT_H

#define NETF_HDR_SIZE 4
#define NETF_RAM_SIZE 0x20000
#define NETF_RAM_IN 0x4000
#define NETF_DESC 0x0
#define NETF_AVAIL 0x1000
#define NETF_USED 0x2000
#define NETF_DATA 0x3000

#endif
