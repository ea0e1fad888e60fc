/* Layout checks for what Swift assumes about DPDK; the wrappers are all in the header. */
#include "cdpdk_shim.h"
#include <dlfcn.h>
#include <rte_eth_vhost.h>
#include <rte_vhost.h>

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

/* Both from libraries loaded with the net_vhost driver, not linked into gannetd. */
int cdpdk_vhost_guest_tso4(uint16_t port) {
  static int (*get_vid)(uint16_t);
  static int (*get_features)(int, uint64_t *);
  if (get_vid == NULL || get_features == NULL) {
    void *h = dlopen("librte_net_vhost.so.23", RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL) h = dlopen("librte_net_vhost.so", RTLD_NOW | RTLD_NOLOAD);
    void *v = dlopen("librte_vhost.so.23", RTLD_NOW | RTLD_NOLOAD);
    if (v == NULL) v = dlopen("librte_vhost.so", RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL || v == NULL) return -2;
    get_vid = (int (*)(uint16_t))dlsym(h, "rte_eth_vhost_get_vid_from_port_id");
    get_features = (int (*)(int, uint64_t *))dlsym(v, "rte_vhost_get_negotiated_features");
    if (get_vid == NULL || get_features == NULL) return -2;
  }
  int vid = get_vid(port);
  if (vid < 0) return -1;
  uint64_t features = 0;
  if (get_features(vid, &features) != 0) return -1;
  const uint64_t want = (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_CSUM);
  return (features & want) == want ? 1 : 0;
}
