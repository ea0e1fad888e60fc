#define _GNU_SOURCE
#include "cafp_shim.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define FAIL(step) do { int e = errno; *failed_step = (step); if (fd >= 0) close(fd); return -e; } while (0)

int cafp_open(const char *ifname, unsigned rx_block_size, unsigned rx_block_nr, unsigned rx_frame_size,
              unsigned tx_frame_size, unsigned tx_frame_nr, unsigned retire_tov_ms,
              cafp_ring *out, const char **failed_step) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  int fd = -1;
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) FAIL("if_nametoindex");
  /* Protocol 0: receive nothing until bind(), so no frame of another interface slips in. */
  fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) FAIL("socket(AF_PACKET)");
  int v = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) FAIL("PACKET_VERSION");
  int one = 1;
  /* Our own transmissions and the host's must not come back in as input. */
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) FAIL("PACKET_IGNORE_OUTGOING");
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) FAIL("PACKET_QDISC_BYPASS");
  /* A frame the kernel cannot send is skipped, never left to block the ring. */
  if (setsockopt(fd, SOL_PACKET, PACKET_LOSS, &one, sizeof one) < 0) FAIL("PACKET_LOSS");
  /* Every frame in both rings carries a struct virtio_net_hdr in front (the sender's
   * checksum and segmentation offload on RX; zero, no offload asked, on TX). Must be set
   * before the rings. */
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) FAIL("PACKET_VNET_HDR");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) FAIL("SIOCGIFMTU");

  int want_rx = rx_block_nr > 0;
  struct tpacket_req3 rx;
  memset(&rx, 0, sizeof rx);
  rx.tp_block_size = rx_block_size;
  rx.tp_block_nr = rx_block_nr;
  rx.tp_frame_size = rx_frame_size;
  rx.tp_frame_nr = (rx_block_size / rx_frame_size) * rx_block_nr;
  rx.tp_retire_blk_tov = retire_tov_ms;
  if (want_rx && setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx) < 0) FAIL("PACKET_RX_RING");

  struct tpacket_req3 tx;
  memset(&tx, 0, sizeof tx);
  tx.tp_block_size = tx_frame_size * 16 > 4096 ? tx_frame_size * 16 : 4096;
  tx.tp_frame_size = tx_frame_size;
  tx.tp_frame_nr = tx_frame_nr;
  tx.tp_block_nr = (tx_frame_nr * tx_frame_size) / tx.tp_block_size;
  if (tx.tp_block_nr == 0 || tx.tp_block_nr * (tx.tp_block_size / tx_frame_size) != tx_frame_nr) {
    errno = EINVAL;
    FAIL("PACKET_TX_RING geometry");
  }
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) < 0) FAIL("PACKET_TX_RING");

  size_t rx_len = want_rx ? (size_t)rx_block_size * rx_block_nr : 0;
  size_t tx_len = (size_t)tx.tp_block_size * tx.tp_block_nr;
  void *map = mmap(NULL, rx_len + tx_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED) map = mmap(NULL, rx_len + tx_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) FAIL("mmap");

  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = want_rx ? htons(ETH_P_ALL) : 0;
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno;
    munmap(map, rx_len + tx_len);
    errno = e;
    FAIL("bind");
  }
  out->fd = fd;
  out->ifindex = (int)ifindex;
  out->map = map;
  out->map_len = rx_len + tx_len;
  out->rx = map;
  out->rx_block_size = rx_block_size;
  out->rx_block_nr = rx_block_nr;
  out->tx = (uint8_t *)map + rx_len;
  out->tx_frame_size = tx_frame_size;
  out->tx_frame_nr = tx_frame_nr;
  out->mtu = (unsigned)ifr.ifr_mtu;
  return 0;
}

void cafp_close(cafp_ring *r) {
  if (r->map) munmap(r->map, r->map_len);
  if (r->fd >= 0) close(r->fd);
  r->map = NULL;
  r->fd = -1;
}

int64_t cafp_rx_ring_drops(const cafp_ring *r) {
  struct tpacket_stats_v3 st;
  socklen_t len = sizeof st;
  memset(&st, 0, sizeof st);
  if (getsockopt(r->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return -errno;
  return (int64_t)st.tp_drops;
}

int cafp_tx_kick(const cafp_ring *r) {
  if (sendto(r->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) return -errno;
  return 0;
}

int cafp_open_gso_socket(int ifindex) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0;
  sll.sll_ifindex = ifindex;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0
      || setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0
      || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int cafp_send_iov(int fd, const void *iov, int iovcnt) {
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = (struct iovec *)iov;
  m.msg_iovlen = (size_t)iovcnt;
  if (sendmsg(fd, &m, MSG_DONTWAIT) < 0) return -errno;
  return 0;
}
