/* Layout checks for what Swift assumes about DPDK; the wrappers are all in the header. */
#include "cdpdk_shim.h"
#include <dlfcn.h>
#include <rte_eth_vhost.h>

_Static_assert(sizeof(void *) == 8, "Gannet assumes a 64-bit target");
_Static_assert(RTE_PKTMBUF_HEADROOM >= 64, "encapsulation needs at least 64 bytes of mbuf headroom");

int cdpdk_vhost_queue_event(uint16_t port, uint16_t *queue, int *rx, int *enable) {
  static int (*get_event)(uint16_t, struct rte_eth_vhost_queue_event *);
  if (get_event == NULL) {
    void *h = dlopen("librte_net_vhost.so.23", RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL) h = dlopen("librte_net_vhost.so", RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL) return -2;
    get_event = (int (*)(uint16_t, struct rte_eth_vhost_queue_event *))dlsym(h, "rte_eth_vhost_get_queue_event");
    if (get_event == NULL) return -2;
  }
  struct rte_eth_vhost_queue_event e;
  if (get_event(port, &e) != 0) return -1;
  *queue = e.queue_id;
  *rx = e.rx;
  *enable = e.enable;
  return 0;
}
