import Testing
@testable import Wire

// Byte vectors below were written by hand from the RFC layouts and cross-checked with
// tshark's dissection of the same bytes.

/// dst 02:00:00:00:00:02, src 02:00:00:00:00:01, 802.1Q PCP 5 VID 100, IPv4.
let taggedEthernet: [UInt8] = [
  0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x81, 0x00, 0xa0, 0x64, 0x08, 0x00,
]

/// 10.0.0.1 -> 10.0.0.2, UDP, TTL 64, DF, ident 0x1234, DSCP 46 ECN 0, 4 payload bytes.
let ipv4Bytes: [UInt8] = [
  0x45, 0xb8, 0x00, 0x18, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
  0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xde, 0xad, 0xbe, 0xef,
]

@Suite struct EthernetFields {
  @Test func untagged() throws {
    try withFrame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x16, 0x3e, 0x01, 0x00, 0x0a, 0x08, 0x06]) { p, n in
      let e = try EthernetHeader(validating: p, length: n)
      #expect(e.destination == .broadcast)
      #expect(e.destination.isMulticast)
      #expect(e.source == MACAddress(0xfa, 0x16, 0x3e, 0x01, 0x00, 0x0a))
      #expect(e.source.isUnicast)
      #expect(e.etherType == EtherType.arp)
      #expect(e.tagCount == 0)
      #expect(e.headerLength == 14)
      #expect(e.vlanID == nil)
      #expect(e.priority == nil)
    }
  }

  @Test func singleTag() throws {
    try withFrame(taggedEthernet) { p, n in
      let e = try EthernetHeader(validating: p, length: n)
      #expect(e.tagCount == 1)
      #expect(e.headerLength == 18)
      #expect(e.vlanID == 100)
      #expect(e.priority == 5)
      #expect(e.etherType == EtherType.ipv4)
      #expect(e.payload == p + 18)
    }
  }

  @Test func qinq() throws {
    let bytes: [UInt8] = Array(taggedEthernet[0..<12]) + [0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x86, 0xdd]
    try withFrame(bytes) { p, n in
      let e = try EthernetHeader(validating: p, length: n)
      #expect(e.tagCount == 2)
      #expect(e.headerLength == 22)
      #expect(e.vlanID == 20)      // innermost
      #expect(e.etherType == EtherType.ipv6)
    }
  }

  @Test func setters() throws {
    try withFrame(taggedEthernet) { p, n in
      let e = try EthernetHeader(validating: p, length: n)
      e.destination = MACAddress(1, 2, 3, 4, 5, 6)
      e.source = MACAddress(0xa, 0xb, 0xc, 0xd, 0xe, 0xf)
      e.etherType = EtherType.arp
      let raw = Array(UnsafeRawBufferPointer(start: p, count: n))
      #expect(raw[0..<6] == [1, 2, 3, 4, 5, 6])
      #expect(raw[6..<12] == [0xa, 0xb, 0xc, 0xd, 0xe, 0xf])
      #expect(raw[12..<16] == [0x81, 0x00, 0xa0, 0x64])   // the tag is untouched
      #expect(raw[16..<18] == [0x08, 0x06])
    }
  }
}

@Suite struct ARPFields {
  /// Who has 10.0.0.2? Tell 10.0.0.1 (fa:16:3e:00:00:01).
  let request: [UInt8] = [
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
    0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
  ]

  @Test func getters() throws {
    try withFrame(request) { p, n in
      let a = try ARPHeader(validating: p, length: n)
      #expect(a.hardwareType == 1)
      #expect(a.protocolType == 0x0800)
      #expect(a.operation == ARPHeader.request)
      #expect(a.senderMAC == MACAddress("fa:16:3e:00:00:01"))
      #expect(a.senderIP == IPv4Address(10, 0, 0, 1))
      #expect(a.targetMAC == .zero)
      #expect(a.targetIP == IPv4Address(10, 0, 0, 2))
    }
  }

  @Test func turnIntoReply() throws {
    try withFrame(request) { p, n in
      let a = try ARPHeader(validating: p, length: n)
      let mac = MACAddress("fa:16:3e:00:00:02")!
      a.operation = ARPHeader.reply
      a.targetMAC = a.senderMAC
      a.targetIP = a.senderIP
      a.senderMAC = mac
      a.senderIP = IPv4Address(10, 0, 0, 2)
      let raw = Array(UnsafeRawBufferPointer(start: p, count: n))
      #expect(raw == [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
        0xfa, 0x16, 0x3e, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x02,
        0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
      ])
    }
  }

  @Test func fillFixedFields() {
    withFrame([UInt8](repeating: 0, count: 28)) { p, _ in
      let a = ARPHeader(unchecked: p)
      a.fillFixedFields()
      #expect(Array(UnsafeRawBufferPointer(start: p, count: 6)) == [0x00, 0x01, 0x08, 0x00, 0x06, 0x04])
    }
  }
}

@Suite struct IPv4Fields {
  @Test func getters() throws {
    try withFrame(ipv4Bytes) { p, n in
      let ip = try IPv4Header(validating: p, length: n)
      #expect(ip.version == 4)
      #expect(ip.headerLength == 20)
      #expect(ip.tos == 0xb8)
      #expect(ip.dscp == 46)
      #expect(ip.ecn == 0)
      #expect(ip.totalLength == 24)
      #expect(ip.identification == 0x1234)
      #expect(ip.dontFragment)
      #expect(!ip.moreFragments)
      #expect(ip.fragmentOffset == 0)
      #expect(!ip.isFragment)
      #expect(ip.ttl == 64)
      #expect(ip.proto == IPProtocol.udp)
      #expect(ip.source == IPv4Address(10, 0, 0, 1))
      #expect(ip.destination == IPv4Address(10, 0, 0, 2))
      #expect(ip.payload == p + 20)
      #expect(ip.payloadLength == 4)
    }
  }

  @Test func checksumKnownValue() throws {
    try withFrame(ipv4Bytes) { p, n in
      let ip = try IPv4Header(validating: p, length: n)
      #expect(!ip.checksumIsValid)
      ip.fillChecksum()
      #expect(ip.checksum == 0x13e7)   // computed by hand, RFC 1071 §3
      #expect(ip.checksumIsValid)
    }
  }

  @Test func fragmentFields() throws {
    var b = ipv4Bytes
    b[6] = 0x20; b[7] = 0x03            // MF, offset 3 × 8
    try withFrame(b) { p, n in
      let ip = try IPv4Header(validating: p, length: n)
      #expect(!ip.dontFragment)
      #expect(ip.moreFragments)
      #expect(ip.fragmentOffset == 24)
      #expect(ip.isFragment)
    }
  }

  @Test func optionsHeader() throws {
    // IHL 6: one 4-byte option (NOP NOP NOP EOL); total 28.
    let b: [UInt8] = [0x46, 0, 0, 28] + Array(ipv4Bytes[4..<20]) + [1, 1, 1, 0] + [1, 2, 3, 4]
    try withFrame(b) { p, n in
      let ip = try IPv4Header(validating: p, length: n)
      #expect(ip.headerLength == 24)
      #expect(ip.payload == p + 24)
      #expect(ip.payloadLength == 4)
    }
  }

  @Test func setters() throws {
    try withFrame(ipv4Bytes) { p, n in
      let ip = try IPv4Header(validating: p, length: n)
      ip.ttl = 3; ip.proto = IPProtocol.tcp; ip.identification = 0xbeef; ip.tos = 0x01
      ip.source = IPv4Address(192, 0, 2, 1); ip.destination = IPv4Address(198, 51, 100, 7)
      let raw = Array(UnsafeRawBufferPointer(start: p, count: 20))
      #expect(raw[1] == 0x01)
      #expect(raw[4..<6] == [0xbe, 0xef])
      #expect(raw[8] == 3)
      #expect(raw[9] == 6)
      #expect(raw[12..<16] == [192, 0, 2, 1])
      #expect(raw[16..<20] == [198, 51, 100, 7])
    }
  }
}

@Suite struct ICMPFields {
  /// Echo request id 0x0102 seq 7, payload "hi", valid checksum.
  let echo: [UInt8] = [0x08, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x07, 0x68, 0x69]

  @Test func echoFields() throws {
    try withFrame(echo) { p, n in
      let icmp = try ICMPv4Header(validating: p, length: n)
      #expect(icmp.type == ICMPv4Header.MessageType.echoRequest)
      #expect(icmp.code == 0)
      #expect(icmp.identifier == 0x0102)
      #expect(icmp.sequence == 7)
      icmp.fillChecksum(length: n)
      // ~(0x0800 + 0x0102 + 0x0007 + 0x6869) = ~0x7172 = 0x8e8d
      #expect(icmp.checksum == 0x8e8d)
      #expect(icmp.checksumIsValid(length: n))
      #expect(icmp.payload == p + 8)
    }
  }

  @Test func fragmentationNeeded() throws {
    try withFrame([3, 4, 0, 0, 0, 0, 0x05, 0xaa]) { p, n in
      let icmp = try ICMPv4Header(validating: p, length: n)
      #expect(icmp.type == ICMPv4Header.MessageType.destinationUnreachable)
      #expect(icmp.code == 4)
      #expect(icmp.nextHopMTU == 1450)
      icmp.nextHopMTU = 1400
      #expect(p.loadBE16(at: 6) == 1400)
    }
  }
}

@Suite struct UDPTCPFields {
  @Test func udp() throws {
    try withFrame([0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 1, 2, 3, 4]) { p, n in
      let u = try UDPHeader(validating: p, length: n)
      #expect(u.sourcePort == 12345)
      #expect(u.destinationPort == 53)
      #expect(u.length == 12)
      #expect(u.checksum == 0)
      #expect(u.payload == p + 8)
      let ph = Checksum.pseudoHeaderSum(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2), protocol: 17, length: 12)
      #expect(u.checksumIsValid(pseudoHeaderSum: ph))    // zero = no checksum
      u.fillChecksum(pseudoHeaderSum: ph)
      #expect(u.checksum != 0)
      #expect(u.checksumIsValid(pseudoHeaderSum: ph))
    }
  }

  @Test func tcp() throws {
    // 443 -> 51000, seq 1, ack 2, data offset 6 (one MSS option), SYN|ACK, window 65535.
    let b: [UInt8] = [0x01, 0xbb, 0xc7, 0x38, 0, 0, 0, 1, 0, 0, 0, 2, 0x60, 0x12, 0xff, 0xff, 0xab, 0xcd, 0, 0,
                      0x02, 0x04, 0x05, 0xb4]
    try withFrame(b) { p, n in
      let t = try TCPHeader(validating: p, length: n)
      #expect(t.sourcePort == 443)
      #expect(t.destinationPort == 51000)
      #expect(t.sequenceNumber == 1)
      #expect(t.acknowledgmentNumber == 2)
      #expect(t.headerLength == 24)
      #expect(t.flags == TCPHeader.Flags.syn | TCPHeader.Flags.ack)
      #expect(t.window == 65535)
      #expect(t.checksum == 0xabcd)
      #expect(t.urgentPointer == 0)
    }
  }
}

@Suite struct VXLANAndIPv6Fields {
  @Test func vxlan() throws {
    try withFrame([0x08, 0, 0, 0, 0x00, 0x03, 0xe9, 0x00]) { p, n in
      let v = try VXLANHeader(validating: p, length: n)
      #expect(v.flags == 0x08)
      #expect(v.vni == 1001)
      v.vni = 0xabcdef
      #expect(Array(UnsafeRawBufferPointer(start: p, count: 8)) == [0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0])
    }
  }

  @Test func vxlanFill() {
    withFrame([UInt8](repeating: 0xff, count: 8)) { p, _ in
      VXLANHeader(unchecked: p).fill(vni: 7)
      #expect(Array(UnsafeRawBufferPointer(start: p, count: 8)) == [0x08, 0, 0, 0, 0, 0, 7, 0])
    }
  }

  @Test func ipv6() throws {
    // Version 6, TC 0xab, flow 0x12345, payload 4, next header UDP, hop limit 64, fe80::1 -> ff02::1.
    var b: [UInt8] = [0x6a, 0xb1, 0x23, 0x45, 0x00, 0x04, 0x11, 0x40]
    b += [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [1]
    b += [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [1]
    b += [9, 9, 9, 9]
    try withFrame(b) { p, n in
      let ip = try IPv6Header(validating: p, length: n)
      #expect(ip.version == 6)
      #expect(ip.trafficClass == 0xab)
      #expect(ip.flowLabel == 0x12345)
      #expect(ip.payloadLength == 4)
      #expect(ip.nextHeader == 17)
      #expect(ip.hopLimit == 64)
      #expect(ip.source == IPv6Address(high: 0xfe80_0000_0000_0000, low: 1))
      #expect(ip.destination == IPv6Address(high: 0xff02_0000_0000_0000, low: 1))
      #expect(ip.payload == p + 40)
    }
  }
}

@Suite struct AddressParsing {
  @Test func mac() {
    #expect(MACAddress("fa:16:3e:01:00:0a")?.rawValue == 0xfa16_3e01_000a)
    #expect(MACAddress("FA-16-3E-01-00-0A") == MACAddress("fa:16:3e:01:00:0a"))
    #expect(MACAddress("fa:16:3e:01:00:0a")?.description == "fa:16:3e:01:00:0a")
    for bad in ["", "fa:16:3e:01:00", "fa:16:3e:01:00:0a:01", "fg:16:3e:01:00:0a", "f:16:3e:01:00:0a"] {
      #expect(MACAddress(bad) == nil, "\(bad)")
    }
    #expect(MACAddress("01:00:5e:00:00:01")!.isMulticast)
  }

  @Test func ipv4() {
    #expect(IPv4Address("10.1.0.10")?.value == 0x0a01_000a)
    #expect(IPv4Address("255.255.255.255")?.isBroadcast == true)
    #expect(IPv4Address("224.0.0.5")?.isMulticast == true)
    for bad in ["", "10.1.0", "10.1.0.256", "10.1.0.01", "a.b.c.d", "10..0.1", "10.1.0.1.2", " 10.1.0.1"] {
      #expect(IPv4Address(bad) == nil, "\(bad)")
    }
    #expect(IPv4Address(192, 0, 2, 1).description == "192.0.2.1")
  }

  @Test func dropReasonNamesAreUniqueAndRoundTrip() {
    let names = DropReason.allCases.map(\.name)
    #expect(Set(names).count == names.count)
    for r in DropReason.allCases {
      #expect(DropReason(name: r.name) == r)
      #expect(!r.description.isEmpty)
      #expect(r.rawValue != 0)
    }
  }
}
