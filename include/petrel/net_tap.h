/*
 * The tap backend of virtio-net (net_backend.h): a Linux tap opened with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (/dev/net/tun, TUNSETIFF), or one
 * passed in as an open fd (as libvirt does). With the vnet header the
 * guest's checksum and segmentation offloads pass through to the host
 * kernel (TUNSETOFFLOAD follows what the driver accepted); an fd opened
 * without it carries plain frames and the device completes checksums.
 *
 * petrel never creates an interface: the tap must exist
 * (`ip tuntap add NAME mode tap user USER`). Every failure to open one says
 * what to do about it. Frames are read only while the guest has buffers
 * (the rest wait in the kernel's queue); the tap deleted under a running
 * VM turns the guest's link down and petrel goes on.
 *
 * Threading: everything after net_tap_start runs on the I/O thread.
 */
#ifndef PETREL_NET_TAP_H
#define PETREL_NET_TAP_H

#include "petrel/evloop.h"
#include "petrel/net_backend.h"

struct net_tap;

/*
 * Opens the tap name, or (name NULL or "") adopts fd, which petrel then
 * owns and closes. 0, or -errno after a message that names the fix.
 */
int net_tap_open(struct net_tap **out, const char *name, int fd);
/*
 * The same checks without keeping anything (an fd passed in stays open):
 * for main, before /dev/kvm. 0 or -errno with the message.
 */
int net_tap_check(const char *name, int fd);
struct net_backend net_tap_backend(struct net_tap *t);
/* Starts reading into port on loop. 0 or -errno. */
int net_tap_start(struct net_tap *t, struct net_port port, struct evloop *loop);
/* Off the loop: no callback runs after it returns (transmit still works). */
void net_tap_stop(struct net_tap *t);
void net_tap_close(struct net_tap *t);
void net_tap_print_stats(struct net_tap *t);

#endif
