/// The Internet checksum: RFC 1071 (computation) and RFC 1624 (incremental update).
///
/// All values are in host order; a checksum read from a header with `loadBE16` can be
/// passed straight in, and the result stored back with `storeBE16`.
public enum Checksum {
  /// One's-complement sum of `count` bytes at `p`, added to `initial`, not yet folded
  /// (RFC 1071 §4.1). An odd trailing byte is padded with zero on the right.
  @inlinable
  public static func partialSum(_ p: UnsafeRawPointer, count: Int, initial: UInt64 = 0) -> UInt64 {
    var acc = initial
    var i = 0
    // 32-bit words into a 64-bit accumulator: no carry can be lost for < 16 GiB.
    while i &+ 4 <= count {
      acc &+= UInt64(UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
      i &+= 4
    }
    if i &+ 2 <= count {
      acc &+= UInt64(UInt16(bigEndian: p.loadUnaligned(fromByteOffset: i, as: UInt16.self)))
      i &+= 2
    }
    if i < count { acc &+= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << 8 }
    return acc
  }

  /// Folds a partial sum to 16 bits and complements it: the value to store in a header.
  @inlinable
  public static func finish(_ sum: UInt64) -> UInt16 {
    var s = sum
    s = (s & 0xffff_ffff) &+ (s >> 32)
    s = (s & 0xffff_ffff) &+ (s >> 32)
    s = (s & 0xffff) &+ (s >> 16)
    s = (s & 0xffff) &+ (s >> 16)
    s = (s & 0xffff) &+ (s >> 16)
    return ~UInt16(truncatingIfNeeded: s)
  }

  /// The checksum of `count` bytes (their sum folded and complemented).
  @inlinable
  public static func compute(_ p: UnsafeRawPointer, count: Int, initial: UInt64 = 0) -> UInt16 {
    finish(partialSum(p, count: count, initial: initial))
  }

  /// The IPv4 pseudo-header sum for TCP/UDP (RFC 768, RFC 9293 §3.1).
  @inlinable
  public static func pseudoHeaderSum(source: IPv4Address, destination: IPv4Address, protocol proto: UInt8, length: UInt16) -> UInt64 {
    UInt64(source.value >> 16) &+ UInt64(source.value & 0xffff) &+ UInt64(destination.value >> 16)
      &+ UInt64(destination.value & 0xffff) &+ UInt64(proto) &+ UInt64(length)
  }

  /// HC' = ~(~HC + ~m + m'): RFC 1624 eqn. 3, for one 16-bit word changing from m to m'.
  @inlinable
  public static func update(_ hc: UInt16, old m: UInt16, new m2: UInt16) -> UInt16 {
    var acc = UInt32(~hc) &+ UInt32(~m) &+ UInt32(m2)
    acc = (acc & 0xffff) &+ (acc >> 16)
    acc = (acc & 0xffff) &+ (acc >> 16)
    return ~UInt16(truncatingIfNeeded: acc)
  }

  /// RFC 1624 eqn. 3 for a 32-bit field (an IPv4 address) changing from m to m'.
  @inlinable
  public static func update(_ hc: UInt16, old m: UInt32, new m2: UInt32) -> UInt16 {
    var acc = UInt32(~hc) &+ (~m >> 16) &+ (~m & 0xffff) &+ (m2 >> 16) &+ (m2 & 0xffff)
    acc = (acc & 0xffff) &+ (acc >> 16)
    acc = (acc & 0xffff) &+ (acc >> 16)
    return ~UInt16(truncatingIfNeeded: acc)
  }
}

/// Completes the L4 checksum of a frame whose sender left it to checksum offload
/// (Linux CHECKSUM_PARTIAL: the field holds only the pseudo-header sum). Recomputes the
/// TCP or UDP checksum of an unfragmented IPv4 datagram from scratch (RFC 9293 §3.1,
/// RFC 768). Returns false, changing nothing, for anything else (IPv6 included).
///
/// A VXLAN packet (UDP to 4789) is different: the pending checksum may be the inner frame's
/// L4 checksum (Linux's vxlan driver with local checksum offload) or the outer UDP one
/// (`udpcsum`). So the inner frame is completed first, then a non-zero outer UDP checksum
/// is recomputed over the final bytes; a zero one (none sent, RFC 7348 §5) stays zero.
public enum ChecksumOffload {
  public static func completeIPv4(frame: UnsafeMutableRawPointer, length: Int) -> Bool {
    if let (inner, innerLength, outer) = vxlanPayload(frame: frame, length: length) {
      _ = completeIPv4(frame: inner, length: innerLength)
      if outer.udp.checksum != 0 { outer.udp.fillChecksum(pseudoHeaderSum: outer.ip.pseudoHeaderSum) }
      return true
    }
    guard let eth = try? EthernetHeader(validating: frame, length: length), eth.etherType == EtherType.ipv4,
          let ip = try? IPv4Header(validating: eth.payload, length: length - eth.headerLength), !ip.isFragment else { return false }
    let l4len = ip.payloadLength
    switch ip.proto {
    case IPProtocol.tcp:
      guard let tcp = try? TCPHeader(validating: ip.payload, length: l4len) else { return false }
      tcp.fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: l4len)
    case IPProtocol.udp:
      guard let udp = try? UDPHeader(validating: ip.payload, length: l4len) else { return false }
      udp.fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum)
    default:
      return false
    }
    return true
  }

  /// The inner frame of an untagged IPv4/UDP/VXLAN frame, or nil.
  static func vxlanPayload(frame: UnsafeMutableRawPointer, length: Int)
    -> (UnsafeMutableRawPointer, Int, (ip: IPv4Header, udp: UDPHeader))?
  {
    guard let eth = try? EthernetHeader(validating: frame, length: length), eth.etherType == EtherType.ipv4,
          let ip = try? IPv4Header(validating: eth.payload, length: length - eth.headerLength), !ip.isFragment,
          ip.proto == IPProtocol.udp, let udp = try? UDPHeader(validating: ip.payload, length: ip.payloadLength),
          udp.destinationPort == VXLANHeader.udpPort, Int(udp.length) >= UDPHeader.length + VXLANHeader.length + 14
    else { return nil }
    return (udp.payload + VXLANHeader.length, Int(udp.length) - UDPHeader.length - VXLANHeader.length, (ip, udp))
  }
}
