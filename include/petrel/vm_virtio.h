/*
 * The VM's virtio devices, built from vm_config (--disk, --rng, --vconsole) on the
 * transport each asked for. Part of the machine (layer 4): it may see
 * struct vm; the devices it makes do not.
 */
#ifndef PETREL_VM_VIRTIO_H
#define PETREL_VM_VIRTIO_H

struct vm;
struct pci_host;
struct evloop;
struct vm_virtio;
struct virtio_console;

/* *out stays NULL when the config asks for no virtio device. 0 or -errno. */
int vm_virtio_create(struct vm *vm, struct pci_host *host, struct evloop *loop,
		     struct vm_virtio **out);
/* After the vCPUs stopped; the I/O thread may still run. NULL is fine. */
void vm_virtio_destroy(struct vm_virtio *v);
void vm_virtio_print_stats(const struct vm_virtio *v);
/* The virtio-console (--vconsole, --console virtio), or NULL. */
struct virtio_console *vm_virtio_console(const struct vm_virtio *v);

#endif
