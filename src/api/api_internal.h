/* Shared by the control API's endpoint files (not a public header). */
#ifndef PETREL_API_INTERNAL_H
#define PETREL_API_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "petrel/api.h"

struct vcpu;

/* "0x1f": addresses as strings (JSON numbers lose bits above 2^53). */
json_t *api_hex(uint64_t v);
/* "running", "paused" or "stopping". */
const char *api_vm_state(struct vm *vm);
/*
 * fn(v, arg) with v parked: at once if it is, otherwise inside a brief
 * pause of the whole VM (*briefly set). fn's result, or -errno.
 */
int api_with_paused(struct api_ctx *c, struct vcpu *v,
		    int (*fn)(struct vcpu *v, void *arg), void *arg, bool *briefly);

int api_get_slots(struct api_ctx *c, json_t **out);
int api_get_memory(struct api_ctx *c, const struct api_args *a, json_t **out);
int api_get_translate(struct api_ctx *c, const struct api_args *a, json_t **out);
int api_get_bus(struct api_ctx *c, json_t **out);
int api_get_irq(struct api_ctx *c, json_t **out);
int api_get_stats(struct api_ctx *c, json_t **out);
int api_get_fds(struct api_ctx *c, json_t **out);
int api_get_threads(struct api_ctx *c, json_t **out);

#endif
