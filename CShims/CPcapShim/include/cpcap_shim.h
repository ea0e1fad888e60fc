/* cpcap_shim.h: libpcap, imported as is (pcap_open_offline, pcap_next_ex, pcap_dump_*).
 * Only reading a pcap into memory and writing one are used; no live capture. */
#ifndef CPCAP_SHIM_H
#define CPCAP_SHIM_H
#include <pcap/pcap.h>
#include <stdint.h>
static inline uint32_t cpcap_caplen(const struct pcap_pkthdr *h) { return h->caplen; }
static inline uint32_t cpcap_len(const struct pcap_pkthdr *h) { return h->len; }
#endif
