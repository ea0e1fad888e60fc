import Testing
@testable import Wire

// Every malformed input maps to exactly one named drop reason (Katran/Cilium style tables).

let ethernetCases: [Malformed] = [
  Malformed(name: "empty frame", bytes: [], reason: .l2TooShort),
  Malformed(name: "13 bytes", bytes: [UInt8](repeating: 0, count: 13), reason: .l2TooShort),
  Malformed(name: "802.1Q TPID without room for the tag",
            bytes: [UInt8](repeating: 0, count: 12) + [0x81, 0x00, 0x00, 0x01], reason: .l2VlanTooShort),
  Malformed(name: "QinQ outer tag, inner truncated",
            bytes: [UInt8](repeating: 0, count: 12) + [0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2], reason: .l2VlanTooShort),
  Malformed(name: "three tags",
            bytes: [UInt8](repeating: 0, count: 12) + [0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3, 0x08, 0x00],
            reason: .l2TooManyTags),
]

let ipv4Cases: [Malformed] = [
  Malformed(name: "19 bytes", bytes: Array(ipv4Bytes[0..<19]), reason: .ipTooShort),
  Malformed(name: "version 6", bytes: [0x65] + Array(ipv4Bytes[1...]), reason: .ipBadVersion),
  Malformed(name: "IHL 4", bytes: [0x44] + Array(ipv4Bytes[1...]), reason: .ipBadHeaderLength),
  Malformed(name: "IHL beyond total length", bytes: [0x47] + Array(ipv4Bytes[1...]), reason: .ipBadHeaderLength),
  Malformed(name: "total length > frame", bytes: Array(ipv4Bytes[0..<2]) + [0x00, 0x80] + Array(ipv4Bytes[4...]),
            reason: .ipBadTotalLength),
  Malformed(name: "total length < header", bytes: Array(ipv4Bytes[0..<2]) + [0x00, 0x10] + Array(ipv4Bytes[4...]),
            reason: .ipBadHeaderLength),
]

/// Which header constructor a malformed case is fed to.
enum HeaderKind: Sendable { case icmp, udp, tcp, vxlan, arp, ipv6 }

func parse(_ k: HeaderKind, _ p: UnsafeMutableRawPointer, _ n: Int) throws(DropReason) {
  switch k {
  case .icmp: _ = try ICMPv4Header(validating: p, length: n)
  case .udp: _ = try UDPHeader(validating: p, length: n)
  case .tcp: _ = try TCPHeader(validating: p, length: n)
  case .vxlan: _ = try VXLANHeader(validating: p, length: n)
  case .arp: _ = try ARPHeader(validating: p, length: n)
  case .ipv6: _ = try IPv6Header(validating: p, length: n)
  }
}

let l4Cases: [(HeaderKind, Malformed)] = [
  (.icmp, Malformed(name: "ICMP 7 bytes", bytes: [8, 0, 0, 0, 0, 0, 0], reason: .icmpTooShort)),
  (.udp, Malformed(name: "UDP 7 bytes", bytes: [0, 1, 0, 2, 0, 7, 0], reason: .udpTooShort)),
  (.udp, Malformed(name: "UDP length 7", bytes: [0, 1, 0, 2, 0, 7, 0, 0], reason: .udpBadLength)),
  (.udp, Malformed(name: "UDP length beyond payload", bytes: [0, 1, 0, 2, 0, 64, 0, 0, 1, 2], reason: .udpBadLength)),
  (.tcp, Malformed(name: "TCP 19 bytes", bytes: [UInt8](repeating: 0, count: 19), reason: .tcpTooShort)),
  (.tcp, Malformed(name: "TCP data offset 4", bytes: [UInt8](repeating: 0, count: 12) + [0x40] + [UInt8](repeating: 0, count: 7),
             reason: .tcpBadDataOffset)),
  (.tcp, Malformed(name: "TCP data offset beyond segment",
             bytes: [UInt8](repeating: 0, count: 12) + [0xf0] + [UInt8](repeating: 0, count: 7), reason: .tcpBadDataOffset)),
  (.vxlan, Malformed(name: "VXLAN 7 bytes", bytes: [8, 0, 0, 0, 0, 0, 1], reason: .vxlanTooShort)),
  (.vxlan, Malformed(name: "VXLAN without I flag", bytes: [0, 0, 0, 0, 0, 0, 1, 0], reason: .vxlanBadFlags)),
  (.arp, Malformed(name: "ARP 27 bytes", bytes: [UInt8](repeating: 0, count: 27), reason: .arpTooShort)),
  (.arp, Malformed(name: "ARP over IPv6 ptype", bytes: [0, 1, 0x86, 0xdd, 6, 4] + [UInt8](repeating: 0, count: 22),
             reason: .arpUnsupported)),
  (.arp, Malformed(name: "ARP hlen 8", bytes: [0, 1, 0x08, 0x00, 8, 4] + [UInt8](repeating: 0, count: 22), reason: .arpUnsupported)),
  (.ipv6, Malformed(name: "IPv6 39 bytes", bytes: [0x60] + [UInt8](repeating: 0, count: 38), reason: .ip6TooShort)),
  (.ipv6, Malformed(name: "IPv6 version 4", bytes: [0x40] + [UInt8](repeating: 0, count: 39), reason: .ip6BadVersion)),
  (.ipv6, Malformed(name: "IPv6 payload length beyond frame",
             bytes: [0x60, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 34), reason: .ip6BadPayloadLength)),
]

@Test(arguments: ethernetCases)
func ethernetRejects(_ m: Malformed) {
  withFrame(m.bytes + [0]) { p, _ in     // +1 spare byte so an empty array still has a base address
    #expect(throws: m.reason) { try EthernetHeader(validating: p, length: m.bytes.count) }
  }
}

@Test(arguments: ipv4Cases)
func ipv4Rejects(_ m: Malformed) {
  withFrame(m.bytes) { p, n in
    #expect(throws: m.reason) { try IPv4Header(validating: p, length: n) }
  }
}

@Test(arguments: 0..<l4Cases.count)
func otherHeadersReject(_ i: Int) {
  let (kind, m) = l4Cases[i]
  withFrame(m.bytes + [0]) { p, _ in
    #expect(throws: m.reason, "\(m.name)") { try parse(kind, p, m.bytes.count) }
  }
}

/// The validating constructors must never read past `length`: feed every prefix of a
/// valid VLAN+IPv4+UDP frame followed by poison and check no constructor accepts a
/// prefix too short for its header.
@Test func everyPrefixIsHandled() {
  let frame: [UInt8] = taggedEthernet + ipv4Bytes
  for cut in 0...frame.count {
    withFrame(Array(frame[0..<cut]) + [UInt8](repeating: 0x81, count: 64)) { p, _ in
      if let e = try? EthernetHeader(validating: p, length: cut) {
        #expect(e.headerLength <= cut)
        if let ip = try? IPv4Header(validating: e.payload, length: cut - e.headerLength) {
          #expect(e.headerLength + Int(ip.totalLength) <= cut)
        }
      } else {
        #expect(cut < 18)
      }
    }
  }
}
