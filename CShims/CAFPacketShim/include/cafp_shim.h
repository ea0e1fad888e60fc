/*
 * cafp_shim.h: AF_PACKET with a TPACKET_V3 mmap RX ring and an mmap TX ring.
 *
 * Layout of the one mapping (packet(7), Documentation/networking/packet_mmap.rst):
 *
 *   map ──► +--------------------------- rx ring ---------------------------+
 *           | block 0 | block 1 | ...                          | block N-1  |  tpacket_block_desc + packets
 *           +--------------------------- tx ring ---------------------------+
 *           | frame 0 | frame 1 | ...                          | frame M-1  |  tpacket3_hdr + data
 *           +---------------------------------------------------------------+
 *
 * Ownership: an RX block belongs to user space while its status has TP_STATUS_USER and
 * returns to the kernel when we store TP_STATUS_KERNEL; a TX frame belongs to user space
 * while its status is TP_STATUS_AVAILABLE (or WRONG_FORMAT) and to the kernel after we
 * store TP_STATUS_SEND_REQUEST. The barriers below order the data against those stores.
 * TX sockets set PACKET_LOSS: a frame the kernel refuses (longer than the interface MTU,
 * say) is discarded and its slot made AVAILABLE again, instead of being left marked
 * WRONG_FORMAT with the kernel stopped at it, which would block every later frame.
 *
 * Every socket sets PACKET_VNET_HDR: in both rings a frame is preceded by a 10-byte
 * struct virtio_net_hdr (on RX just before tp_mac; on TX first in the frame data, and
 * written as zeros here: no offload asked of the kernel).
 *
 * Thread safety: one ring is used by one thread. No policy here: sizes come from Swift.
 */
#ifndef CAFP_SHIM_H
#define CAFP_SHIM_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <linux/if_packet.h>

#define CAFP_VNET_HDR_LEN 10   /* sizeof(struct virtio_net_hdr) */

typedef struct cafp_ring {
  int fd;
  int ifindex;
  uint8_t *map;
  size_t map_len;
  uint8_t *rx;            /* first RX block */
  unsigned rx_block_size;
  unsigned rx_block_nr;
  uint8_t *tx;            /* first TX frame */
  unsigned tx_frame_size;
  unsigned tx_frame_nr;
  unsigned mtu;           /* the interface's MTU when the socket was opened */
} cafp_ring;

/* Opens a non-blocking AF_PACKET socket bound to `ifname` with both rings mapped, or with
 * rx_block_nr == 0 a TX-only socket (no RX ring, bound with protocol 0: receives nothing).
 * rx_frame_size must divide rx_block_size; block sizes must be multiples of the page size.
 * Returns 0, or a negative errno naming the step that failed in *failed_step. */
int cafp_open(const char *ifname, unsigned rx_block_size, unsigned rx_block_nr, unsigned rx_frame_size,
              unsigned tx_frame_size, unsigned tx_frame_nr, unsigned retire_tov_ms,
              cafp_ring *out, const char **failed_step);
void cafp_close(cafp_ring *r);

/* A socket for super-frames of interface `ifindex`: SOCK_RAW bound with protocol 0 (it
 * receives nothing), PACKET_VNET_HDR, PACKET_QDISC_BYPASS, and no ring (on a socket with a TX
 * ring, sendmsg goes through the ring). Returns the descriptor or -errno. */
int cafp_open_gso_socket(int ifindex);
/* Sends one frame given as `iovcnt` iovecs, the first starting with its virtio_net_hdr;
 * non-blocking. Returns 0 or -errno. */
int cafp_send_iov(int fd, const void *iov, int iovcnt);

/* Frames the kernel dropped because the RX ring was full since the last call
 * (PACKET_STATISTICS tp_drops; reading resets the kernel's counter). -errno on error. */
int64_t cafp_rx_ring_drops(const cafp_ring *r);

/* ---- RX (TPACKET_V3 blocks) ------------------------------------------------------- */
static inline struct tpacket_block_desc *cafp_rx_block(const cafp_ring *r, unsigned i) {
  return (struct tpacket_block_desc *)(r->rx + (size_t)i * r->rx_block_size);
}
static inline bool cafp_rx_block_ready(struct tpacket_block_desc *b) {
  return (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}
static inline uint32_t cafp_rx_block_num_pkts(const struct tpacket_block_desc *b) { return b->hdr.bh1.num_pkts; }
static inline struct tpacket3_hdr *cafp_rx_block_first(struct tpacket_block_desc *b) {
  return (struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
}
static inline void cafp_rx_block_release(struct tpacket_block_desc *b) {
  __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}
static inline struct tpacket3_hdr *cafp_rx_pkt_next(struct tpacket3_hdr *p) {
  return (struct tpacket3_hdr *)((uint8_t *)p + p->tp_next_offset);
}
static inline uint8_t *cafp_rx_pkt_data(struct tpacket3_hdr *p) { return (uint8_t *)p + p->tp_mac; }
/* The frame's struct virtio_net_hdr (10 bytes, little-endian fields). */
static inline const uint8_t *cafp_rx_pkt_vnet(struct tpacket3_hdr *p) { return (uint8_t *)p + p->tp_mac - CAFP_VNET_HDR_LEN; }
static inline uint32_t cafp_rx_pkt_snaplen(const struct tpacket3_hdr *p) { return p->tp_snaplen; }
static inline uint32_t cafp_rx_pkt_len(const struct tpacket3_hdr *p) { return p->tp_len; }
/* The kernel strips an 802.1Q tag into metadata (VLAN offload); this returns it so the
 * caller can put it back. Returns false when the frame had no tag. */
static inline bool cafp_rx_pkt_vlan(const struct tpacket3_hdr *p, uint16_t *tci, uint16_t *tpid) {
  if (!(p->tp_status & TP_STATUS_VLAN_VALID)) return false;
  *tci = (uint16_t)p->hv1.tp_vlan_tci;
  *tpid = (p->tp_status & TP_STATUS_VLAN_TPID_VALID) ? (uint16_t)p->hv1.tp_vlan_tpid : 0x8100;
  return true;
}

/* ---- TX (frames) ------------------------------------------------------------------ */
static inline struct tpacket3_hdr *cafp_tx_frame(const cafp_ring *r, unsigned i) {
  return (struct tpacket3_hdr *)(r->tx + (size_t)i * r->tx_frame_size);
}
static inline bool cafp_tx_frame_free(struct tpacket3_hdr *f) {
  uint32_t s = __atomic_load_n(&f->tp_status, __ATOMIC_ACQUIRE);
  return s == TP_STATUS_AVAILABLE || s == TP_STATUS_WRONG_FORMAT;
}
/* Where the Ethernet frame goes: after the data offset TPACKET3_HDRLEN -
 * sizeof(struct sockaddr_ll) (packet_mmap.rst) and the virtio_net_hdr, which is zeroed. */
static inline uint8_t *cafp_tx_frame_data(struct tpacket3_hdr *f) {
  uint8_t *vnet = (uint8_t *)f + TPACKET3_HDRLEN - sizeof(struct sockaddr_ll);
  memset(vnet, 0, CAFP_VNET_HDR_LEN);
  return vnet + CAFP_VNET_HDR_LEN;
}
static inline unsigned cafp_tx_frame_capacity(const cafp_ring *r) {
  return r->tx_frame_size - (unsigned)(TPACKET3_HDRLEN - sizeof(struct sockaddr_ll)) - CAFP_VNET_HDR_LEN;
}
/* `len`: the Ethernet frame's length (the header in front is added here). */
static inline void cafp_tx_frame_submit(struct tpacket3_hdr *f, uint32_t len) {
  len += CAFP_VNET_HDR_LEN;
  f->tp_len = len;
  f->tp_snaplen = len;
  f->tp_next_offset = 0;
  __atomic_store_n(&f->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
}
/* Asks the kernel to send every frame marked SEND_REQUEST. Returns 0 or -errno
 * (-EAGAIN/-ENOBUFS mean "try again on the next burst"). */
int cafp_tx_kick(const cafp_ring *r);

#endif
