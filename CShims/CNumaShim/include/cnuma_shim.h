/* cnuma_shim.h: libnuma placement for buffer pools and tables.
 * On a machine without NUMA (or where numa_available() < 0) memory comes from
 * posix_memalign instead; the caller must free with cnuma_free and the same size. */
#ifndef CNUMA_SHIM_H
#define CNUMA_SHIM_H
#include <stddef.h>
/* Allocates `size` bytes, zeroed, page-aligned, on `node` (-1: the calling CPU's node). */
void *cnuma_alloc(size_t size, int node);
void cnuma_free(void *p, size_t size);
/* Pins the calling thread to one CPU. Returns 0 or -errno. */
int cnuma_pin_current_thread(int cpu);
#endif
