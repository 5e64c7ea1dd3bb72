/* tests/fault/alloc.h — the allocation-failure injector of the fault harness.
 *
 * The harness binary defines malloc, calloc, realloc, free and the aligned allocators
 * itself, forwarding to glibc's __libc_* functions; the dynamic linker binds every
 * library of the process (OpenSSL, protobuf-c, jansson, libconfig, LMDB, libsodium) to
 * these definitions, so their allocations are counted and can fail too. Not usable under
 * ASan, which replaces the allocator itself; valgrind works (it intercepts __libc_*). */
#ifndef CB_FAULT_ALLOC_H
#define CB_FAULT_ALLOC_H

#include <stdint.h>

/* Makes the Nth allocation attempt from now on (N >= 1) fail with NULL and errno ENOMEM,
 * and every later one succeed (a single failure, as SQLite's "transient" mode). */
void	fault_arm(uint64_t n);
/* Stops injecting. Returns whether the armed allocation was reached (and failed). */
int	fault_disarm(void);
/* Allocation attempts since the last fault_arm(), including the failed one. */
uint64_t fault_attempts(void);
/* Warms up what the injector itself needs (backtrace()). Call once, unarmed. */
void	fault_init(void);
/* Lets every allocation made with a frame of the library (or executable) holding `sym` on
 * its stack pass, uncounted: for a library known to crash when its allocations fail.
 * NULL ends the exemption. */
void	fault_exempt(const void *sym);
/* Whether the last injected failure happened with a frame of the object holding `sym` on
 * its stack (looked at among its innermost FAULT_FRAMES frames). */
int	fault_hit_in(const void *sym);
#define FAULT_FRAMES	24

/* Blocks currently allocated (successful allocations minus frees of non-NULL pointers). */
int64_t	fault_live(void);

#endif
