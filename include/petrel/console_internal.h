/*
 * Shared by console.c (input, signals, set-up) and console_out.c (the
 * output buffer); not for other modules.
 */
#ifndef PETREL_CONSOLE_INTERNAL_H
#define PETREL_CONSOLE_INTERNAL_H

#include <stdint.h>

struct console;

/* Chooses how to write fd without blocking (console_out.c). 0 or -errno. */
int console_out_open(struct console *c, int fd);
/* The out_kick eventfd's callback: output is waiting. */
void console_out_kicked(void *opaque, uint32_t events);
/* The out_timer timerfd's callback: a partial line waited long enough. */
void console_out_timer(void *opaque, uint32_t events);
/* Unwatches and closes what console_out_open made; reports lost output. */
void console_out_close(struct console *c);

#endif
