#include <errno.h>
#include <string.h>

#include "petrel/kvm.h"
#include "petrel/vcpu_mem.h"
#include "petrel/vm.h"

int vcpu_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa)
{
	struct kvm_translation t = { .linear_address = gva };

	if (kvm_ioctl_quiet(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return -EFAULT;
	*gpa = t.physical_address;
	return 0;
}

int vcpu_read_virt(struct vcpu *v, uint64_t gva, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;

	while (done < len) {
		uint64_t gpa, in_page = 4096 - ((gva + done) & 4095);
		size_t n = len - done < in_page ? len - done : in_page;
		if (vcpu_translate(v, gva + done, &gpa) < 0 ||
		    gpa_read(&v->vm->mem, gpa, out + done, n) < 0)
			break;
		done += n;
	}
	return (int)done;
}

int vcpu_write_virt(struct vcpu *v, uint64_t gva, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	size_t done = 0;

	while (done < len) {
		uint64_t gpa, in_page = 4096 - ((gva + done) & 4095);
		size_t n = len - done < in_page ? len - done : in_page;
		if (vcpu_translate(v, gva + done, &gpa) < 0 ||
		    gpa_write(&v->vm->mem, gpa, in + done, n) < 0)
			break;
		done += n;
	}
	return (int)done;
}
