/*
 * Keeps one idle KVM VM alive for as long as the nested test VM (L1) runs.
 *
 * Why: KVM flips kernel static keys when the first VM is created and the
 * last one destroyed (preempt_notifier_key, whose branches sit in
 * __schedule), and when the first vCPU's local APIC is disabled or enabled
 * (apic_hw_disabled, apic_sw_disabled), and when the first vCPU without
 * an in-kernel LAPIC comes or the last one goes (kvm_has_noapic_vcpu: the
 * raw-KVM baseline of bench/ has no irqchip). Each flip live-patches kernel text
 * with text_poke_bp(), an int3 on every CPU's path. QEMU's multi-threaded
 * TCG, which runs L1, sometimes never completes that dance: one L1 CPU
 * loops through exc_int3 in __schedule while the other spins on a lock, and
 * L1 hangs for good (seen here every few dozen VM lifetimes; a test suite
 * creates hundreds). With this VM holding each count above zero, petrel's
 * VMs coming and going flip nothing. It is a workaround for the test
 * platform only: nothing of petrel depends on it.
 *
 * The first VM has the in-kernel irqchip and two vCPUs that never run:
 * vCPU 0's APIC stays software-disabled (as after reset), vCPU 1's APIC is
 * hardware-disabled through IA32_APIC_BASE. The second VM has no irqchip
 * and one vCPU. Prints "kvm_keeper: ready"
 * and then sleeps until killed. Built static by tests/nested/prepare.sh for
 * L1's initramfs.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APIC_DEFAULT_BASE 0xfee00000ULL

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs;
	int kvm, vm, vcpu1, bare;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("kvm_keeper: open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("kvm_keeper: KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("kvm_keeper: KVM_CREATE_IRQCHIP");
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("kvm_keeper: KVM_CREATE_VCPU 0");
	vcpu1 = ioctl(vm, KVM_CREATE_VCPU, 1);
	if (vcpu1 < 0)
		return fail("kvm_keeper: KVM_CREATE_VCPU 1");
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 1;
	msrs.entry.index = MSR_IA32_APICBASE;
	msrs.entry.data = APIC_DEFAULT_BASE; /* enable bit clear */
	if (ioctl(vcpu1, KVM_SET_MSRS, &msrs) != 1)
		return fail("kvm_keeper: KVM_SET_MSRS IA32_APIC_BASE");
	bare = ioctl(kvm, KVM_CREATE_VM, 0);
	if (bare < 0)
		return fail("kvm_keeper: KVM_CREATE_VM (no irqchip)");
	if (ioctl(bare, KVM_CREATE_VCPU, 0) < 0)
		return fail("kvm_keeper: KVM_CREATE_VCPU (no irqchip)");
	printf("kvm_keeper: ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
