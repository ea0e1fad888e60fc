/// The offload description a Linux sender attaches to a frame (`struct virtio_net_hdr`,
/// virtio 1.2 §5.1.6; what AF_PACKET with `PACKET_VNET_HDR` and vhost-user hand over),
/// little-endian fields as the modern virtio layout has them.
@frozen
public struct VirtioNetHeader: Equatable, Sendable {
  public static let length = 10
  /// `flags`: the L4 checksum is left to the receiver (`csumStart`, `csumOffset`).
  public static let needsChecksum: UInt8 = 1
  /// `gsoType` values (the ECN bit aside).
  public static let gsoNone: UInt8 = 0, gsoTCPv4: UInt8 = 1, gsoUDP: UInt8 = 3, gsoTCPv6: UInt8 = 4, gsoUDPL4: UInt8 = 5
  public static let gsoECN: UInt8 = 0x80

  public var flags: UInt8
  public var gsoType: UInt8
  public var headerLength: UInt16
  public var gsoSize: UInt16
  public var csumStart: UInt16
  public var csumOffset: UInt16

  @inlinable
  public init(flags: UInt8 = 0, gsoType: UInt8 = 0, headerLength: UInt16 = 0, gsoSize: UInt16 = 0, csumStart: UInt16 = 0,
              csumOffset: UInt16 = 0) {
    self.flags = flags
    self.gsoType = gsoType
    self.headerLength = headerLength
    self.gsoSize = gsoSize
    self.csumStart = csumStart
    self.csumOffset = csumOffset
  }

  /// Reads the 10 bytes at `p`.
  @inlinable
  public init(at p: UnsafeRawPointer) {
    func le16(_ o: Int) -> UInt16 { UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    self.init(flags: p.load(fromByteOffset: 0, as: UInt8.self), gsoType: p.load(fromByteOffset: 1, as: UInt8.self),
              headerLength: le16(2), gsoSize: le16(4), csumStart: le16(6), csumOffset: le16(8))
  }

  /// Writes the 10 bytes at `p`.
  @inlinable
  public func store(at p: UnsafeMutableRawPointer) {
    p.storeBytes(of: flags, toByteOffset: 0, as: UInt8.self)
    p.storeBytes(of: gsoType, toByteOffset: 1, as: UInt8.self)
    p.storeBytes(of: headerLength.littleEndian, toByteOffset: 2, as: UInt16.self)
    p.storeBytes(of: gsoSize.littleEndian, toByteOffset: 4, as: UInt16.self)
    p.storeBytes(of: csumStart.littleEndian, toByteOffset: 6, as: UInt16.self)
    p.storeBytes(of: csumOffset.littleEndian, toByteOffset: 8, as: UInt16.self)
  }

  /// True when the frame is a super-frame to segment.
  @inlinable public var isGSO: Bool { gsoType & ~Self.gsoECN != Self.gsoNone }
}

/// Software segmentation of a TSO/GSO super-frame into the frames a NIC would have sent
/// (what Linux's `skb_gso_segment` does for a device without the offload): TCP over IPv4
/// or IPv6 (RFC 9293: each segment's sequence number advances by the payload before it;
/// FIN and PSH only on the last segment, CWR only on the first, as `tcp_gso_segment`),
/// UDP over IPv4 or IPv6 (`UDP_SEGMENT`: each segment a datagram of its own), and either
/// of them inside VXLAN over UDP/IPv4 (a kernel VTEP's tunnel GSO: the outer IPv4 and UDP
/// headers are fixed per segment too). IPv4 headers get their length, an identification
/// advanced by one per segment and a fresh header checksum; L4 checksums are computed in
/// full (a super-frame leaves them to offload); an outer UDP checksum of zero stays zero
/// (RFC 7348 §5), a non-zero one is computed.
///
/// `init(validating:…)` parses the headers once and guarantees every offset that
/// `write(segment:to:)` uses lies inside the frame. Pure; any thread.
@frozen
public struct GSOFrame {
  public let base: UnsafeRawPointer
  /// Offsets of the headers rewritten per segment; `outerL3` is -1 without VXLAN.
  public let outerL3: Int, outerL4: Int
  public let l3: Int, l4: Int
  public let isIPv6: Bool, isTCP: Bool
  /// Bytes of headers copied into every segment, and the payload after them.
  public let headerLength: Int, payloadLength: Int
  public let segmentSize: Int
  /// How many segments the frame makes.
  public let count: Int

  /// `frame` of `length` bytes starting at its Ethernet header, described by `vnet`
  /// (`isGSO` true). Throws `rx-gso-malformed` when the headers are not what the GSO type
  /// says (or are cut short), `rx-gso-unsupported` for a type this does not segment
  /// (UFO, IPv6 extension headers, another tunnel).
  public init(validating frame: UnsafeRawPointer, length: Int, vnet: VirtioNetHeader) throws(DropReason) {
    let type = vnet.gsoType & ~VirtioNetHeader.gsoECN
    let wantTCP: Bool
    switch type {
    case VirtioNetHeader.gsoTCPv4, VirtioNetHeader.gsoTCPv6: wantTCP = true
    case VirtioNetHeader.gsoUDPL4: wantTCP = false
    default: throw .rxGSOUnsupported
    }
    guard vnet.gsoSize > 0 else { throw .rxGSOMalformed }
    let p = UnsafeMutableRawPointer(mutating: frame)
    // The first level; a VXLAN frame (outer UDP to 4789) holds the real one inside.
    var level = try Self.parse(p, at: 0, length: length)
    var outerL3 = -1, outerL4 = -1
    // TCP segmentation of a UDP datagram: a tunnel's (VXLAN over IPv4 is the one taken).
    if wantTCP && !level.tcp {
      guard !level.v6, level.end &- level.l4 >= UDPHeader.length &+ VXLANHeader.length &+ 14,
            p.loadBE16(at: level.l4 &+ 2) == VXLANHeader.udpPort else { throw .rxGSOUnsupported }
      outerL3 = level.l3
      outerL4 = level.l4
      level = try Self.parse(p, at: level.l4 &+ UDPHeader.length &+ VXLANHeader.length, length: level.end)
    }
    guard level.tcp == wantTCP else { throw .rxGSOMalformed }
    let headers: Int
    if level.tcp {
      guard level.end &- level.l4 >= TCPHeader.minimumLength else { throw .rxGSOMalformed }
      let d = Int(p.loadU8(at: level.l4 &+ 12) >> 4) &* 4
      guard d >= TCPHeader.minimumLength, level.l4 &+ d <= level.end else { throw .rxGSOMalformed }
      headers = level.l4 &+ d
    } else {
      guard level.end &- level.l4 >= UDPHeader.length else { throw .rxGSOMalformed }
      headers = level.l4 &+ UDPHeader.length
    }
    self.base = frame
    self.outerL3 = outerL3
    self.outerL4 = outerL4
    self.l3 = level.l3
    self.l4 = level.l4
    self.isIPv6 = level.v6
    self.isTCP = level.tcp
    self.headerLength = headers
    self.payloadLength = level.end &- headers
    self.segmentSize = Int(vnet.gsoSize)
    self.count = Swift.max(1, (payloadLength &+ segmentSize &- 1) / segmentSize)
  }

  /// One IP level: where its header and L4 header start, where its datagram ends.
  @usableFromInline struct Level {
    var l3: Int, l4: Int, end: Int, v6: Bool, tcp: Bool
  }

  /// The Ethernet frame at `start` (up to `length`): untagged or one 802.1Q tag, IPv4
  /// without fragmentation or IPv6 without extension headers, TCP or UDP.
  static func parse(_ p: UnsafeMutableRawPointer, at start: Int, length: Int) throws(DropReason) -> Level {
    let eth: EthernetHeader
    do { eth = try EthernetHeader(validating: p + start, length: length &- start) } catch { throw .rxGSOMalformed }
    let l3 = start &+ eth.headerLength
    let available = length &- l3
    switch eth.etherType {
    case EtherType.ipv4:
      let ip: IPv4Header
      do { ip = try IPv4Header(validating: p + l3, length: available) } catch { throw .rxGSOMalformed }
      guard !ip.isFragment, ip.proto == IPProtocol.tcp || ip.proto == IPProtocol.udp else { throw .rxGSOMalformed }
      return Level(l3: l3, l4: l3 &+ ip.headerLength, end: l3 &+ Int(ip.totalLength), v6: false, tcp: ip.proto == IPProtocol.tcp)
    case EtherType.ipv6:
      let ip: IPv6Header
      do { ip = try IPv6Header(validating: p + l3, length: available) } catch { throw .rxGSOMalformed }
      guard ip.nextHeader == IPProtocol.tcp || ip.nextHeader == IPProtocol.udp else { throw .rxGSOUnsupported }
      return Level(l3: l3, l4: l3 &+ IPv6Header.length, end: l3 &+ IPv6Header.length &+ Int(ip.payloadLength), v6: true,
                   tcp: ip.nextHeader == IPProtocol.tcp)
    default:
      throw .rxGSOMalformed
    }
  }

  /// The length of segment `k` (0 ..< count).
  @inlinable
  public func segmentLength(_ k: Int) -> Int {
    headerLength &+ Swift.min(segmentSize, payloadLength &- k &* segmentSize)
  }

  /// Writes segment `k` (0 ..< count) to `dst`, which has room for `segmentLength(k)`
  /// bytes, with every header and checksum final; returns its length.
  public func write(segment k: Int, to dst: UnsafeMutableRawPointer) -> Int {
    let offset = k &* segmentSize
    let chunk = Swift.min(segmentSize, payloadLength &- offset)
    let length = headerLength &+ chunk
    dst.copyMemory(from: base, byteCount: headerLength)
    (dst + headerLength).copyMemory(from: base + (headerLength &+ offset), byteCount: chunk)
    if outerL3 >= 0 { Self.fixIPv4(dst + outerL3, totalLength: length &- outerL3, segment: k) }
    if isIPv6 {
      dst.storeBE16(UInt16(truncatingIfNeeded: length &- l3 &- IPv6Header.length), at: l3 &+ 4)
    } else {
      Self.fixIPv4(dst + l3, totalLength: length &- l3, segment: k)
    }
    let l4Length = length &- l4
    let h = dst + l4
    if isTCP {
      h.storeBE32(h.loadBE32(at: 4) &+ UInt32(truncatingIfNeeded: offset), at: 4)
      var flags = h.loadU8(at: 13)
      if k != count &- 1 { flags &= ~(TCPHeader.Flags.fin | TCPHeader.Flags.psh) }
      if k != 0 { flags &= ~0x80 }   // CWR
      h.storeU8(flags, at: 13)
      h.storeBE16(0, at: 16)
      h.storeBE16(Checksum.compute(h, count: l4Length, initial: pseudoSum(dst, proto: IPProtocol.tcp, l4Length: l4Length)), at: 16)
    } else {
      h.storeBE16(UInt16(truncatingIfNeeded: l4Length), at: 4)
      h.storeBE16(0, at: 6)
      let c = Checksum.compute(h, count: l4Length, initial: pseudoSum(dst, proto: IPProtocol.udp, l4Length: l4Length))
      h.storeBE16(c == 0 ? 0xffff : c, at: 6)
    }
    if outerL3 >= 0 {
      let u = dst + outerL4, uLength = length &- outerL4
      let hadChecksum = u.loadBE16(at: 6) != 0
      u.storeBE16(UInt16(truncatingIfNeeded: uLength), at: 4)
      if hadChecksum {
        u.storeBE16(0, at: 6)
        let o = dst + outerL3
        let sum = Checksum.partialSum(o + 12, count: 8) &+ UInt64(IPProtocol.udp) &+ UInt64(uLength)
        let c = Checksum.compute(u, count: uLength, initial: sum)
        u.storeBE16(c == 0 ? 0xffff : c, at: 6)
      }
    }
    return length
  }

  /// The pseudo-header sum of the inner datagram of segment `dst` (RFC 768, RFC 8200 §8.1).
  func pseudoSum(_ dst: UnsafeMutableRawPointer, proto: UInt8, l4Length: Int) -> UInt64 {
    let addresses = isIPv6 ? Checksum.partialSum(dst + (l3 &+ 8), count: 32) : Checksum.partialSum(dst + (l3 &+ 12), count: 8)
    return addresses &+ UInt64(proto) &+ UInt64(l4Length)
  }

  /// Length, identification + k and header checksum of the IPv4 header at `ip`.
  static func fixIPv4(_ ip: UnsafeMutableRawPointer, totalLength: Int, segment k: Int) {
    ip.storeBE16(UInt16(truncatingIfNeeded: totalLength), at: 2)
    ip.storeBE16(ip.loadBE16(at: 4) &+ UInt16(truncatingIfNeeded: k), at: 4)
    ip.storeBE16(0, at: 10)
    ip.storeBE16(Checksum.compute(ip, count: Int(ip.loadU8(at: 0) & 0x0f) &* 4), at: 10)
  }
}
