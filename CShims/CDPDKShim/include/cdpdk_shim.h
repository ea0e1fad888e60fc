/*
 * cdpdk_shim.h: the DPDK surface Gannet uses, as thin static-inline wrappers.
 *
 * Swift cannot import struct rte_mbuf (aligned above 16 bytes, so opaque) nor
 * function-like macros such as rte_pktmbuf_mtod. Each wrapper here is one line
 * with no policy; policy lives in Swift (IO/DPDKPort.swift), where it is tested.
 * A static inline function from this module is inlined into Swift callers in
 * release builds (checked with objdump, see tools/check-hot-asm.sh).
 *
 * Thread safety: as DPDK's. Burst calls on one (port, queue) from one thread only.
 */
#ifndef CDPDK_SHIM_H
#define CDPDK_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ethdev.h>
#include <rte_cycles.h>
#include <rte_prefetch.h>
#include <rte_errno.h>
#include <rte_bus_vdev.h>

typedef struct rte_mbuf cdpdk_mbuf;

/* ---- EAL ---------------------------------------------------------------------- */
static inline int cdpdk_eal_init(int argc, char **argv) { return rte_eal_init(argc, argv); }
/* Gives the calling (non-EAL) thread an lcore id, so that mempool operations use a per-lcore
 * cache instead of the shared ring; 0 on success. */
static inline int cdpdk_thread_register(void) { return rte_thread_register(); }
static inline void cdpdk_thread_unregister(void) { rte_thread_unregister(); }
static inline unsigned cdpdk_lcore_id(void) { return rte_lcore_id(); }
static inline int cdpdk_eal_cleanup(void) { return rte_eal_cleanup(); }
static inline int cdpdk_errno(void) { return rte_errno; }
static inline const char *cdpdk_strerror(int e) { return rte_strerror(e); }
static inline int cdpdk_socket_id(void) { return (int)rte_socket_id(); }
static inline uint64_t cdpdk_rdtsc(void) { return rte_rdtsc(); }
/* Prefetch into all cache levels (x86 PREFETCHT0): a hint, never a fault. */
static inline void cdpdk_prefetch0(const void *p) { rte_prefetch0(p); }

/* ---- mempool / mbuf --------------------------------------------------------------- */
static inline struct rte_mempool *cdpdk_pktmbuf_pool_create(const char *name, unsigned n, unsigned cache,
                                                           uint16_t data_room, int socket) {
  return rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket);
}
static inline void cdpdk_mempool_free(struct rte_mempool *mp) { rte_mempool_free(mp); }

static inline __attribute__((always_inline)) void *cdpdk_mbuf_data(struct rte_mbuf *m) {
  return rte_pktmbuf_mtod(m, void *);
}
static inline __attribute__((always_inline)) uint16_t cdpdk_mbuf_data_len(const struct rte_mbuf *m) { return m->data_len; }
static inline __attribute__((always_inline)) uint16_t cdpdk_mbuf_tailroom(const struct rte_mbuf *m) {
  return rte_pktmbuf_tailroom(m);
}
static inline __attribute__((always_inline)) uint16_t cdpdk_mbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
/* Single-segment only: sets both data_len and pkt_len, and moves data_off. */
static inline __attribute__((always_inline)) void cdpdk_mbuf_set_data(struct rte_mbuf *m, uint16_t off, uint16_t len) {
  m->data_off = off; m->data_len = len; m->pkt_len = len;
}
/* Single-segment only: points the mbuf at `data` (inside its buffer) with `len` bytes. */
static inline __attribute__((always_inline)) void cdpdk_mbuf_set_data_ptr(struct rte_mbuf *m, void *data, uint16_t len) {
  m->data_off = (uint16_t)((char *)data - (char *)m->buf_addr); m->data_len = len; m->pkt_len = len;
}
/* One segment and no super-frame: the common case, a frame the pipeline takes as it is. */
static inline __attribute__((always_inline)) bool cdpdk_mbuf_is_plain(const struct rte_mbuf *m) {
  return m->nb_segs == 1 && !(m->ol_flags & RTE_MBUF_F_RX_LRO);
}
/* A guest's TSO super-frame (net_vhost with tso=1: RTE_MBUF_F_RX_LRO, the segment size in
 * tso_segsz), usually a chain. */
static inline bool cdpdk_mbuf_is_super_frame(const struct rte_mbuf *m) { return (m->ol_flags & RTE_MBUF_F_RX_LRO) != 0; }
static inline uint16_t cdpdk_mbuf_tso_segsz(const struct rte_mbuf *m) { return m->tso_segsz; }
/* Copies every segment of `m` into `out` (`cap` bytes); returns pkt_len, or 0 when it does not fit. */
static inline uint32_t cdpdk_mbuf_linearize_into(const struct rte_mbuf *m, uint8_t *out, uint32_t cap) {
  if (m->pkt_len > cap) return 0;
  uint32_t off = 0;
  for (const struct rte_mbuf *s = m; s != NULL && off + s->data_len <= cap; s = s->next) {
    memcpy(out + off, rte_pktmbuf_mtod(s, const uint8_t *), s->data_len);
    off += s->data_len;
  }
  return off;
}
static inline __attribute__((always_inline)) void *cdpdk_mbuf_buf_addr(const struct rte_mbuf *m) { return m->buf_addr; }
static inline __attribute__((always_inline)) struct rte_mbuf *cdpdk_mbuf_alloc(struct rte_mempool *mp) {
  return rte_pktmbuf_alloc(mp);
}
static inline __attribute__((always_inline)) int cdpdk_mbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **ms, unsigned n) {
  return rte_pktmbuf_alloc_bulk(mp, ms, n);
}
static inline __attribute__((always_inline)) void cdpdk_mbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
static inline __attribute__((always_inline)) void cdpdk_mbuf_free_bulk(struct rte_mbuf **ms, unsigned n) {
  rte_pktmbuf_free_bulk(ms, n);
}

/* ---- ethdev ----------------------------------------------------------------------- */
static inline uint16_t cdpdk_eth_dev_count_avail(void) { return rte_eth_dev_count_avail(); }
static inline int cdpdk_eth_dev_get_port_by_name(const char *name, uint16_t *port) {
  return rte_eth_dev_get_port_by_name(name, port);
}
static inline int cdpdk_vdev_init(const char *name, const char *args) { return rte_vdev_init(name, args); }
static inline int cdpdk_vdev_uninit(const char *name) { return rte_vdev_uninit(name); }

/* 1 when the port's link is up, 0 when down, < 0 on error (rte_eth_link_get_nowait). */
static inline int cdpdk_eth_link_up(uint16_t port) {
  struct rte_eth_link l;
  int rc = rte_eth_link_get_nowait(port, &l);
  return rc < 0 ? rc : l.link_status == RTE_ETH_LINK_UP;
}

/* The next change of a net_vhost port's queue states (rte_eth_vhost_get_queue_event):
 * 0 and the queue, its direction (rx: 1 for an ethdev RX queue, the guest's TX ring) and
 * state; -1 when there is none; -2 when net_vhost is not loaded. Looked up at run time in
 * the PMD that EAL loaded as a plugin, so nothing links against it. Control thread. */
int cdpdk_vhost_queue_event(uint16_t port, uint16_t *queue, int *rx, int *enable);
/* 1 when the guest of vhost-user port `port` negotiated VIRTIO_NET_F_GUEST_TSO4 and
 * GUEST_CSUM (it takes TSO super-frames), 0 when not, negative when no guest is there. */
int cdpdk_vhost_guest_tso4(uint16_t port);
/* Makes segs[0..n) one TSO super-frame (DPDK's TX_TCP_SEG convention): segs[1..] lose their
 * first `hlen` bytes (the repeated headers) and are chained behind segs[0], whose headers the
 * caller has rewritten for the whole frame. */
static inline void cdpdk_mbuf_make_tso4(struct rte_mbuf **segs, uint16_t n, uint16_t hlen, uint16_t l4_len, uint16_t mss) {
  struct rte_mbuf *h = segs[0];
  uint32_t len = h->data_len;
  for (uint16_t i = 1; i < n; i++) {
    rte_pktmbuf_adj(segs[i], hlen);
    segs[i - 1]->next = segs[i];
    len += segs[i]->data_len;
  }
  segs[n - 1]->next = NULL;
  h->nb_segs = n;
  h->pkt_len = len;
  h->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
  h->l2_len = 14;
  h->l3_len = 20;
  h->l4_len = l4_len;
  h->tso_segsz = mss;
}
static inline uint32_t cdpdk_mbuf_pkt_len(const struct rte_mbuf *m) { return m->pkt_len; }
static inline int cdpdk_eth_dev_socket_id(uint16_t port) { return rte_eth_dev_socket_id(port); }
/* How many RX queues the device supports, or -errno. */
static inline int cdpdk_eth_dev_max_rx_queues(uint16_t port) {
  struct rte_eth_dev_info info; int r = rte_eth_dev_info_get(port, &info);
  return r < 0 ? r : (int)info.max_rx_queues;
}
/* How many TX queues the device supports, or -errno. */
static inline int cdpdk_eth_dev_max_tx_queues(uint16_t port) {
  struct rte_eth_dev_info info; int r = rte_eth_dev_info_get(port, &info);
  return r < 0 ? r : (int)info.max_tx_queues;
}
/* Configures nrxq/ntxq queues with an all-default rte_eth_conf (no offloads, no RSS). */
static inline int cdpdk_eth_dev_configure_default(uint16_t port, uint16_t nrxq, uint16_t ntxq) {
  struct rte_eth_conf conf; memset(&conf, 0, sizeof conf);
  return rte_eth_dev_configure(port, nrxq, ntxq, &conf);
}
static inline int cdpdk_eth_rx_queue_setup(uint16_t port, uint16_t q, uint16_t nb_desc, int socket, struct rte_mempool *mp) {
  return rte_eth_rx_queue_setup(port, q, nb_desc, (unsigned)socket, NULL, mp);
}
static inline int cdpdk_eth_tx_queue_setup(uint16_t port, uint16_t q, uint16_t nb_desc, int socket) {
  return rte_eth_tx_queue_setup(port, q, nb_desc, (unsigned)socket, NULL);
}
static inline int cdpdk_eth_dev_start(uint16_t port) { return rte_eth_dev_start(port); }
/* The port's MAC address into out[0..5]; 0 or a negative errno. */
static inline int cdpdk_eth_macaddr(uint16_t port, uint8_t *out) {
  struct rte_ether_addr a;
  int rc = rte_eth_macaddr_get(port, &a);
  if (rc == 0) for (int i = 0; i < 6; i++) out[i] = a.addr_bytes[i];
  return rc;
}
static inline int cdpdk_eth_dev_stop(uint16_t port) { return rte_eth_dev_stop(port); }
static inline int cdpdk_eth_dev_close(uint16_t port) { return rte_eth_dev_close(port); }
static inline int cdpdk_eth_promiscuous_enable(uint16_t port) { return rte_eth_promiscuous_enable(port); }
static inline __attribute__((always_inline)) uint16_t cdpdk_rx_burst(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n) {
  return rte_eth_rx_burst(port, q, pkts, n);
}
static inline __attribute__((always_inline)) uint16_t cdpdk_tx_burst(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n) {
  return rte_eth_tx_burst(port, q, pkts, n);
}

#endif
