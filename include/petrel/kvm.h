/*
 * Thin wrappers over the KVM ioctls. They return 0 (or the ioctl's
 * non-negative result) or -errno, and kvm_ioctl() names the failing ioctl in
 * its message, so "KVM_CREATE_VM failed" never reaches the user as a bare
 * "Invalid argument".
 */
#ifndef PETREL_KVM_H
#define PETREL_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>

/* An ioctl that is expected to work: logs "NAME: strerror" on failure. */
int kvm_ioctl_named(int fd, unsigned long req, void *arg, const char *name);
#define kvm_ioctl(fd, req, arg) kvm_ioctl_named(fd, req, (void *)(arg), #req)

/* An ioctl whose failure the caller handles itself: no message. */
int kvm_ioctl_quiet(int fd, unsigned long req, void *arg);

/*
 * Opens the KVM device at path (normally /dev/kvm), checks the API version
 * and every capability petrel relies on; on failure prints what is wrong and
 * the likely fix. Returns the fd or -errno.
 */
int kvm_open(const char *path);

/* KVM_CHECK_EXTENSION on the system or VM fd: the value, 0 if absent. */
int kvm_check_cap(int fd, long cap);

#endif
