/*
 * A small ACPI Machine Language (AML) writer: just the constructs petrel's
 * DSDT needs (ACPI 6.4, chapter 20 for the encoding, 6.4 for resource
 * descriptors). Writing into a fixed buffer never overflows it: on overflow
 * the writer stops and aml_len() reports 0, so a caller sizes its buffer by
 * a dry run and checks the result once.
 */
#ifndef PETREL_AML_H
#define PETREL_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
size_t aml_len(const struct aml *a); /* 0 after an overflow */

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/*
 * Constructs with a PkgLength: open one, write its body, close it; the
 * close encodes the length in front of the body. Returns a handle.
 */
size_t aml_scope_open(struct aml *a, const char *name_string); /* Scope(name) */
size_t aml_device_open(struct aml *a, const char *seg);         /* Device(seg) */
size_t aml_buffer_open(struct aml *a);    /* Buffer(){}: close with aml_buffer_close */
size_t aml_package_open(struct aml *a, uint8_t nelems);          /* Package(n){} */
void aml_close(struct aml *a, size_t handle);
void aml_buffer_close(struct aml *a, size_t handle);

void aml_name(struct aml *a, const char *seg);   /* Name(seg, <next object>) */
void aml_integer(struct aml *a, uint64_t v);     /* smallest integer encoding */
void aml_dword(struct aml *a, uint32_t v);       /* always DWordConst */
uint32_t aml_eisaid(const char *id);             /* "PNP0A03" -> 0x030ad041 */
void aml_string(struct aml *a, const char *s);   /* String: ASCII, NUL-ended */

/* Resource descriptors for a _CRS buffer. */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len);
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max,
		       bool cacheable);
/* Memory32Fixed (ReadWrite or ReadOnly, base, len) */
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base,
			 uint32_t len);
/* Interrupt (ResourceConsumer, ...) { gsi }: the Extended Interrupt descriptor */
#define AML_IRQ_EDGE (1u << 1)       /* else level-triggered */
#define AML_IRQ_ACTIVE_LOW (1u << 2) /* else active high */
#define AML_IRQ_SHARED (1u << 3)     /* else exclusive */
void aml_res_interrupt(struct aml *a, unsigned flags, uint32_t gsi);
void aml_res_end(struct aml *a);

#endif
