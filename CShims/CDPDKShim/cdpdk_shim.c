/* Layout checks for what Swift assumes about DPDK; the wrappers are all in the header. */
#include "cdpdk_shim.h"

_Static_assert(sizeof(void *) == 8, "Gannet assumes a 64-bit target");
_Static_assert(RTE_PKTMBUF_HEADROOM >= 64, "encapsulation needs at least 64 bytes of mbuf headroom");
