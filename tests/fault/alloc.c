/* tests/fault/alloc.c — malloc and friends, counted, with one injected failure on demand.
 *
 * Invariants: (1) every successful allocation adds one to `live` and every free of a
 * non-NULL pointer takes one away, whether armed or not, so a test compares `live` before
 * and after an operation to find leaks; (2) only allocation attempts made while armed are
 * counted, and only the `fail_at`-th of them fails; (3) a realloc to a smaller or larger
 * size counts as an attempt (it may move); realloc(p, 0) is a free. Nothing here
 * allocates (backtrace() is warmed up by fault_init), so it cannot recurse. The harness is single-threaded; the counters are
 * atomic anyway, in case a library starts a thread. */
#define _GNU_SOURCE	/* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void  __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

/* Our own definitions of the C allocator: declared here as well, for -Wmissing-prototypes
 * on the ones <stdlib.h> does not declare. */
void	*memalign(size_t, size_t);
void	*valloc(size_t);
void	*pvalloc(size_t);

static int64_t	 live;
static uint64_t	 attempts, fail_at;
static int	 armed, hit, in_trace;
static void	*exempt_base;			/* a library whose allocations pass */
static void	*hit_frames[FAULT_FRAMES];	/* the stack of the failed allocation */
static int	 hit_nframes;

/* The base address of the object (executable or shared library) holding `addr`. */
static void *
object_base(const void *addr)
{
	Dl_info info;

	return dladdr(addr, &info) != 0 ? info.dli_fbase : NULL;
}

void
fault_init(void)
{
	void *frames[4];

	/* The first backtrace() loads libgcc_s (and allocates): do it before arming. */
	(void)backtrace(frames, 4);
}

void
fault_exempt(const void *sym)
{
	exempt_base = sym != NULL ? object_base(sym) : NULL;
}

int
fault_hit_in(const void *sym)
{
	void *base = object_base(sym);

	for (int i = 0; hit && i < hit_nframes; i++)
		if (object_base(hit_frames[i]) == base)
			return 1;
	return 0;
}

/* Whether the current allocation comes from the exempt library. */
static int
exempt_now(void)
{
	void *frames[FAULT_FRAMES];
	int n;

	if (exempt_base == NULL || in_trace)
		return 0;
	in_trace = 1;
	n = backtrace(frames, FAULT_FRAMES);
	in_trace = 0;
	for (int i = 1; i < n; i++)
		if (object_base(frames[i]) == exempt_base)
			return 1;
	return 0;
}

void
fault_arm(uint64_t n)
{
	__atomic_store_n(&attempts, 0, __ATOMIC_SEQ_CST);
	fail_at = n;
	hit = 0;
	__atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

int
fault_disarm(void)
{
	__atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
	return hit;
}

uint64_t
fault_attempts(void)
{
	return __atomic_load_n(&attempts, __ATOMIC_SEQ_CST);
}

int64_t
fault_live(void)
{
	return __atomic_load_n(&live, __ATOMIC_SEQ_CST);
}

/* Whether this allocation attempt must fail. */
static int
fault_now(void)
{
	if (!__atomic_load_n(&armed, __ATOMIC_SEQ_CST) || exempt_now())
		return 0;
	if (__atomic_add_fetch(&attempts, 1, __ATOMIC_SEQ_CST) != fail_at)
		return 0;
	hit = 1;
	in_trace = 1;
	hit_nframes = backtrace(hit_frames, FAULT_FRAMES);
	in_trace = 0;
	errno = ENOMEM;
	return 1;
}

static void *
counted(void *p)
{
	if (p != NULL)
		__atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
	return p;
}

void *
malloc(size_t size)
{
	return fault_now() ? NULL : counted(__libc_malloc(size));
}

void *
calloc(size_t n, size_t size)
{
	return fault_now() ? NULL : counted(__libc_calloc(n, size));
}

void *
realloc(void *p, size_t size)
{
	void *q;

	if (p == NULL)
		return malloc(size);
	if (size == 0) {
		free(p);
		return NULL;
	}
	if (fault_now())
		return NULL;
	q = __libc_realloc(p, size);	/* on failure `p` stays allocated: no change */
	return q;
}

void
free(void *p)
{
	if (p == NULL)
		return;
	__atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
	__libc_free(p);
}

void *
memalign(size_t align, size_t size)
{
	return fault_now() ? NULL : counted(__libc_memalign(align, size));
}

void *
aligned_alloc(size_t align, size_t size)
{
	return memalign(align, size);
}

int
posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	if (fault_now())
		return ENOMEM;
	if ((p = counted(__libc_memalign(align, size))) == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *
valloc(size_t size)
{
	return memalign(4096, size);
}

void *
pvalloc(size_t size)
{
	return memalign(4096, (size + 4095) & ~(size_t)4095);
}

void *
reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * size);
}
