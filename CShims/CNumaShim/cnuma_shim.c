#define _GNU_SOURCE
#include "cnuma_shim.h"
#include <numa.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static int have_numa(void) { return numa_available() >= 0; }

void *cnuma_alloc(size_t size, int node) {
  void *p = NULL;
  if (have_numa()) {
    p = node < 0 ? numa_alloc_local(size) : numa_alloc_onnode(size, node);
    if (p) memset(p, 0, size); /* numa_alloc_* is mmap-backed: touch it now, not on the hot path */
    return p;
  }
  if (posix_memalign(&p, 4096, size) != 0) return NULL;
  memset(p, 0, size);
  return p;
}

void cnuma_free(void *p, size_t size) {
  if (!p) return;
  if (have_numa()) numa_free(p, size); else free(p);
}

#include <errno.h>
int cnuma_pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}
