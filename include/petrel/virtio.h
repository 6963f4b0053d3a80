/*
 * The transport-neutral core of a virtio 1.x device: feature negotiation,
 * the device status state machine, config generation, the queues, and the
 * path of a kick (transport -> eventfd -> I/O thread -> device) and of an
 * interrupt (device -> core -> transport: MSI-X vector, or INTx/ISR).
 *
 * One device code path serves both transports (virtio-pci, virtio-mmio): a
 * device fills struct virtio_dev_ops and calls virtio_dev_init; a transport
 * turns register accesses into the virtio_* calls below and provides the
 * struct virtio_transport callbacks.
 *
 * Threading: transports call in from vCPU threads, kicks and host I/O
 * completions run on the I/O thread (evloop.h). d->lock serialises all of
 * it; every entry point below takes it unless it says "lock held".
 *
 * Kicks: each queue has an eventfd. A transport that traps the notify
 * write calls virtio_queue_kick (it writes the eventfd); one that has KVM
 * signal it (KVM_IOEVENTFD) registers virtio_queue_kick_fd. Either way the
 * I/O thread reads it and calls ops->kick with the lock held, once the
 * driver has set DRIVER_OK and the queue is ready.
 */
#ifndef PETREL_VIRTIO_H
#define PETREL_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/evloop.h"
#include "petrel/memory.h"
#include "petrel/trace.h"
#include "petrel/virtqueue.h"

#define VIRTIO_NO_VECTOR 0xffff
#define VIRTIO_MAX_RESET_WARNINGS 8 /* NEEDS_RESET lines per device on stderr */

struct virtio_dev;

struct virtio_dev_ops {
	/* device-specific configuration; off + len <= config_len (lock held) */
	void (*config_read)(void *dev, unsigned off, void *buf, unsigned len);
	/* optional: NULL makes the config read-only */
	void (*config_write)(void *dev, unsigned off, const void *buf,
			     unsigned len);
	/*
	 * The driver set DRIVER_OK; the ready queues are started. Lock held.
	 * Optional. Nonzero: the device cannot run (NEEDS_RESET is set).
	 */
	int (*start)(void *dev);
	/*
	 * The driver wrote 0 to status, or the VM is going away: stop using
	 * the queues. In-flight host I/O must not touch guest memory after
	 * this returns (it may wait on d->lock with pthread_cond_wait). Lock
	 * held. Optional.
	 */
	void (*reset)(void *dev);
	/* Queue q was kicked. On the I/O thread, lock held. */
	void (*kick)(void *dev, unsigned q);
};

/* What the core needs from a transport: interrupts. Called lock held. */
struct virtio_transport {
	/* the device used buffers on queue q and the driver wants to know */
	void (*notify_queue)(void *opaque, unsigned q);
	/* the device configuration (or NEEDS_RESET) changed */
	void (*notify_config)(void *opaque);
	void *opaque;
};

struct virtio_queue {
	struct virtq vq;
	int kick_fd;          /* eventfd */
	uint16_t max_size;    /* what the device offers */
	uint16_t vector;      /* MSI-X vector (virtio-pci), VIRTIO_NO_VECTOR */
	bool kick_registered; /* kick_fd is on the event loop */
	uint64_t kicks, notifies; /* statistics */
	struct virtio_dev *owner;
	uint16_t traced_used; /* --trace virtio: used entries already traced */
};

struct virtio_dev {
	pthread_mutex_t lock;
	const char *name;     /* "virtio-blk0", for messages */
	uint16_t device_id;   /* VIRTIO_ID_* */
	uint64_t host_features;  /* offered: the device's plus the core's */
	uint64_t guest_features; /* accepted by the driver */
	uint8_t status;
	uint32_t config_generation;
	uint16_t config_vector; /* MSI-X vector for config changes */
	unsigned config_len;
	unsigned nr_queues;
	struct virtio_queue *queues;
	const struct virtio_dev_ops *ops;
	void *dev;
	struct virtio_transport t;
	const struct guest_mem *mem;
	struct evloop *loop;
	struct tracer *tr;    /* --trace virtio (NULL: none) */
	/*
	 * How often the device set NEEDS_RESET (--stats). Only the first
	 * VIRTIO_MAX_RESET_WARNINGS get a line on stderr: a guest can reset
	 * and break its device in a loop, and must not fill the host's logs.
	 */
	uint64_t needs_resets;
};

/*
 * device_features: the device's own bits; the core adds VERSION_1,
 * RING_INDIRECT_DESC and RING_EVENT_IDX. Each queue gets queue_max
 * entries (a power of two <= VIRTQ_MAX_SIZE). 0 or -errno.
 */
int virtio_dev_init(struct virtio_dev *d, const char *name, uint16_t device_id,
		    uint64_t device_features, unsigned nr_queues,
		    uint16_t queue_max, unsigned config_len,
		    const struct virtio_dev_ops *ops, void *dev,
		    const struct guest_mem *mem, struct evloop *loop);
/* Resets the device (ops->reset) and frees what init made. */
void virtio_dev_destroy(struct virtio_dev *d);
/* The transport: set before the guest runs. */
void virtio_dev_set_transport(struct virtio_dev *d, struct virtio_transport t);
/*
 * The VM's tracer, before the guest runs. With TRACE_VIRTIO on, each kick
 * the I/O thread takes, each used-ring entry the device pushed and each
 * interrupt decision (sent, or suppressed by the driver) is a line:
 *   virtio kick dev=virtio-blk0 queue=0 kicks=1
 *   virtio push dev=virtio-blk0 queue=0 head=3 len=1 used_idx=4
 *   virtio interrupt dev=virtio-blk0 queue=0 msix_vector=1
 */
void virtio_dev_set_tracer(struct virtio_dev *d, struct tracer *tr);

/* --- for transports (each takes the lock) --- */
uint32_t virtio_get_features(struct virtio_dev *d, unsigned sel);
/* ignored after FEATURES_OK */
void virtio_set_features(struct virtio_dev *d, unsigned sel, uint32_t val);
uint8_t virtio_get_status(struct virtio_dev *d);
/*
 * The status state machine: 0 resets; FEATURES_OK is kept only when the
 * accepted features are a subset of the offered ones and include
 * VERSION_1; DRIVER_OK starts the ready queues (a queue whose rings are not
 * in RAM sets NEEDS_RESET instead).
 */
void virtio_set_status(struct virtio_dev *d, uint8_t status);
/* Device config access; bytes outside config_len read 0, writes dropped. */
void virtio_config_read(struct virtio_dev *d, unsigned off, void *buf,
			unsigned len);
void virtio_config_write(struct virtio_dev *d, unsigned off, const void *buf,
			 unsigned len);
/* The notify write, trapped: signals the queue's kick eventfd. */
void virtio_queue_kick(struct virtio_dev *d, unsigned q);
/* The eventfd KVM_IOEVENTFD may signal for q, or -1 for a bad q. */
int virtio_queue_kick_fd(const struct virtio_dev *d, unsigned q);
/* Queue registers (lock held by the caller: virtio_lock/virtio_unlock). */
struct virtio_queue *virtio_queue(struct virtio_dev *d, unsigned q);
void virtio_lock(struct virtio_dev *d);
void virtio_unlock(struct virtio_dev *d);

/* --- for devices (lock held) --- */
/* After pushing used buffers on q: interrupts the driver if it wants. */
void virtio_notify(struct virtio_dev *d, unsigned q);
/*
 * A malformed request: sets NEEDS_RESET and tells the driver. Says why on
 * stderr the first VIRTIO_MAX_RESET_WARNINGS times, then only counts.
 */
void virtio_needs_reset(struct virtio_dev *d, const char *why);
/* The device changed its configuration: new generation, notify. */
void virtio_config_changed(struct virtio_dev *d);
bool virtio_has_feature(const struct virtio_dev *d, unsigned bit);
/* A counter of the device's, read under its lock (from any thread). */
uint64_t virtio_stat(struct virtio_dev *d, const uint64_t *counter);

#endif
