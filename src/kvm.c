#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "petrel/kvm.h"
#include "petrel/util.h"

int kvm_ioctl_quiet(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r < 0 ? -errno : r;
}

int kvm_ioctl_named(int fd, unsigned long req, void *arg, const char *name)
{
	int r = kvm_ioctl_quiet(fd, req, arg);

	if (r < 0)
		pt_err("%s: %s", name, strerror(-r));
	return r;
}

int kvm_check_cap(int fd, long cap)
{
	int r = kvm_ioctl_quiet(fd, KVM_CHECK_EXTENSION, (void *)cap);
	return r < 0 ? 0 : r;
}

/* What petrel cannot run without, named for the error message. */
static const struct {
	long cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

int kvm_open(const char *path)
{
	int fd, version, err;
	char missing[512] = "";

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			pt_err("%s does not exist: this host has no KVM. Load the module "
			       "(modprobe kvm_intel or kvm_amd) and check that "
			       "virtualization is enabled in the firmware", path);
		else if (err == -EACCES || err == -EPERM)
			pt_err("%s: permission denied. Add yourself to the group that "
			       "owns it (usually: sudo usermod -aG kvm $USER, then log "
			       "in again)", path);
		else
			pt_err("open %s: %s", path, strerror(-err));
		return err;
	}
	version = kvm_ioctl_quiet(fd, KVM_GET_API_VERSION, NULL);
	if (version != KVM_API_VERSION) {
		pt_err("%s: KVM API version %d, petrel needs %d", path, version,
		       KVM_API_VERSION);
		close(fd);
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (kvm_check_cap(fd, required_caps[i].cap) > 0)
			continue;
		size_t n = strlen(missing);
		snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? ", " : "",
			 required_caps[i].name);
	}
	if (missing[0]) {
		pt_err("%s lacks capabilities petrel needs: %s (a newer host kernel "
		       "is needed)", path, missing);
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}
