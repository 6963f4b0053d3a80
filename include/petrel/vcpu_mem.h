/*
 * Guest-virtual memory as a vCPU sees it: translated with KVM_TRANSLATE
 * (the guest's own page tables, in the vCPU's current mode) and then read
 * through the checked gpa accessors.
 */
#ifndef PETREL_VCPU_MEM_H
#define PETREL_VCPU_MEM_H

#include <stddef.h>
#include <stdint.h>

struct vcpu;

/* gva -> gpa; 0 or -EFAULT if the page is not mapped. */
int vcpu_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa);

/*
 * Reads up to len bytes at gva, page by page; returns how many bytes were
 * read (stopping at the first unmapped page or non-RAM address).
 */
int vcpu_read_virt(struct vcpu *v, uint64_t gva, void *buf, size_t len);
/*
 * Writes up to len bytes at gva the same way, whatever the page tables'
 * write permission says (a debugger's breakpoint in read-only kernel
 * text); returns how many bytes were written.
 */
int vcpu_write_virt(struct vcpu *v, uint64_t gva, const void *buf, size_t len);

#endif
