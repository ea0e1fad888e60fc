/// Address and port translation of IPv4 datagrams in place, with every checksum patched
/// incrementally (RFC 1624): the IPv4 header checksum, the TCP/UDP checksum (its
/// pseudo-header holds the addresses, RFC 9293 §3.1, RFC 768), the ICMP checksum (echo
/// identifier), and for ICMP errors the quoted datagram inside (RFC 5508 §4.2: a NAT must
/// translate the embedded header, its IP checksum and L4 ports/checksum, and the outer ICMP
/// checksum that covers them).
///
/// The L4 "port" of ICMP echo request/reply is the identifier (RFC 5508 §3.1).
public enum NATRewrite {
  /// Which endpoint of a datagram is translated.
  public enum Side: Sendable { case source, destination }

  /// Where a datagram's L4 header is, after checking that it holds what translation
  /// touches: 20 bytes of TCP, 8 of UDP, 8 of ICMP. Only for unfragmented datagrams or
  /// first fragments (the caller checks).
  @inlinable @inline(__always)
  public static func l4(_ ip: IPv4Header) throws(DropReason) -> UnsafeMutableRawPointer {
    let need: Int
    switch ip.proto {
    case IPProtocol.tcp: need = TCPHeader.minimumLength
    case IPProtocol.udp: need = UDPHeader.length
    case IPProtocol.icmp: need = ICMPv4Header.minimumLength
    default: throw .natUnsupportedProtocol
    }
    guard ip.payloadLength >= need else { throw .natTruncated }
    return ip.payload
  }

  /// The port of `side` (ICMP: the echo identifier, for either side).
  @inlinable @inline(__always)
  public static func port(_ l4: UnsafeMutableRawPointer, proto: UInt8, _ side: Side) -> UInt16 {
    if proto == IPProtocol.icmp { return l4.loadBE16(at: 4) }
    return l4.loadBE16(at: side == .source ? 0 : 2)
  }

  /// Rewrites the address of `side` to `address` and, when `port` is given, its port (TCP,
  /// UDP) or echo identifier (ICMP); patches the IPv4 and L4 checksums. `l4` is nil for a
  /// non-first fragment (address only). A UDP checksum of 0 (none) stays 0.
  @inlinable @inline(__always)
  public static func rewrite(_ ip: IPv4Header, l4: UnsafeMutableRawPointer?, _ side: Side, address: UInt32, port: UInt16?) {
    let old = side == .source ? ip.rewriteSource(IPv4Address(address)).value : ip.rewriteDestination(IPv4Address(address)).value
    guard let l4 else { return }
    let portOffset = side == .source ? 0 : 2
    switch ip.proto {
    case IPProtocol.tcp:
      var c = Checksum.update(l4.loadBE16(at: 16), old: old, new: address)
      if let port {
        c = Checksum.update(c, old: l4.loadBE16(at: portOffset), new: port)
        l4.storeBE16(port, at: portOffset)
      }
      l4.storeBE16(c, at: 16)
    case IPProtocol.udp:
      let c0 = l4.loadBE16(at: 6)
      var c = c0 == 0 ? 0 : Checksum.update(c0, old: old, new: address)
      if let port {
        if c0 != 0 { c = Checksum.update(c, old: l4.loadBE16(at: portOffset), new: port) }
        l4.storeBE16(port, at: portOffset)
      }
      if c0 != 0 { l4.storeBE16(c == 0 ? 0xffff : c, at: 6) }
    case IPProtocol.icmp:
      // ICMP's checksum has no pseudo-header: only the identifier matters.
      if let port, ICMPv4Header.MessageType.isQuery(l4.loadU8(at: 0)) {
        l4.storeBE16(Checksum.update(l4.loadBE16(at: 2), old: l4.loadBE16(at: 4), new: port), at: 2)
        l4.storeBE16(port, at: 4)
      }
    default:
      break
    }
  }

  /// The datagram quoted by an ICMP error (RFC 792): its IPv4 header and first L4 bytes.
  @frozen
  public struct Quote {
    public let ip: IPv4Header
    public let l4: UnsafeMutableRawPointer
    /// Bytes of the quoted L4 header present (at least 8: RFC 792 quotes 64 bits).
    public let l4Length: Int
    @inlinable init(ip: IPv4Header, l4: UnsafeMutableRawPointer, l4Length: Int) {
      self.ip = ip
      self.l4 = l4
      self.l4Length = l4Length
    }
    @inlinable public var proto: UInt8 { ip.proto }
    @inlinable public var source: UInt32 { ip.source.value }
    @inlinable public var destination: UInt32 { ip.destination.value }
    @inlinable public var sourcePort: UInt16 { NATRewrite.port(l4, proto: ip.proto, .source) }
    @inlinable public var destinationPort: UInt16 { NATRewrite.port(l4, proto: ip.proto, .destination) }
  }

  /// The quote of the ICMP error at `icmp` (`length` bytes of ICMP message). Throws when it
  /// is too short to translate or not TCP, UDP or ICMP echo.
  @inlinable
  public static func quote(icmp: UnsafeMutableRawPointer, length: Int) throws(DropReason) -> Quote {
    guard length >= ICMPv4Header.minimumLength + IPv4Header.minimumLength + 8 else { throw .natTruncated }
    let inner = icmp + ICMPv4Header.minimumLength
    let ihl = Int(inner.loadU8(at: 0) & 0x0f) &* 4
    guard inner.loadU8(at: 0) >> 4 == 4, ihl >= IPv4Header.minimumLength,
          length >= ICMPv4Header.minimumLength &+ ihl &+ 8 else { throw .natTruncated }
    let ip = IPv4Header(unchecked: inner)
    switch ip.proto {
    case IPProtocol.tcp, IPProtocol.udp: break
    case IPProtocol.icmp: guard ICMPv4Header.MessageType.isQuery(inner.loadU8(at: ihl)) else { throw .natUnsupportedProtocol }
    default: throw .natUnsupportedProtocol
    }
    return Quote(ip: ip, l4: inner + ihl, l4Length: length &- ICMPv4Header.minimumLength &- ihl)
  }

  /// Translates the quote of the ICMP error at `icmp`: the quoted datagram's `side` address
  /// becomes `address` and, when given, its port `port`; patches the quoted IPv4 checksum,
  /// the quoted L4 checksum when it is inside the quote, and the ICMP checksum over all of it.
  /// (The outer header is the caller's: it translates the opposite side of the outer packet.)
  @inlinable
  public static func rewriteQuote(_ q: Quote, icmp: UnsafeMutableRawPointer, _ side: Side, address: UInt32, port: UInt16?) {
    var icmpSum = icmp.loadBE16(at: 2)
    @inline(__always) func patch(_ p: UnsafeMutableRawPointer, _ offset: Int, _ new: UInt16) {
      // Every field patched here is 16-bit aligned relative to the ICMP header.
      icmpSum = Checksum.update(icmpSum, old: p.loadBE16(at: offset), new: new)
      p.storeBE16(new, at: offset)
    }
    let addressOffset = side == .source ? 12 : 16
    let old = q.ip.base.loadBE32(at: addressOffset)
    patch(q.ip.base, 10, Checksum.update(q.ip.checksum, old: old, new: address))
    patch(q.ip.base, addressOffset, UInt16(truncatingIfNeeded: address >> 16))
    patch(q.ip.base, addressOffset &+ 2, UInt16(truncatingIfNeeded: address))
    let portOffset = side == .source ? 0 : 2
    switch q.proto {
    case IPProtocol.tcp:
      let oldPort = q.l4.loadBE16(at: portOffset)
      if q.l4Length >= 18 {
        var c = Checksum.update(q.l4.loadBE16(at: 16), old: old, new: address)
        if let port { c = Checksum.update(c, old: oldPort, new: port) }
        patch(q.l4, 16, c)
      }
      if let port { patch(q.l4, portOffset, port) }
    case IPProtocol.udp:
      let oldPort = q.l4.loadBE16(at: portOffset)
      let c0 = q.l4.loadBE16(at: 6)
      if c0 != 0 {
        var c = Checksum.update(c0, old: old, new: address)
        if let port { c = Checksum.update(c, old: oldPort, new: port) }
        patch(q.l4, 6, c == 0 ? 0xffff : c)
      }
      if let port { patch(q.l4, portOffset, port) }
    default:   // ICMP echo: the identifier and the quoted ICMP checksum
      if let port {
        patch(q.l4, 2, Checksum.update(q.l4.loadBE16(at: 2), old: q.l4.loadBE16(at: 4), new: port))
        patch(q.l4, 4, port)
      }
    }
    icmp.storeBE16(icmpSum, at: 2)
  }
}

extension ICMPv4Header.MessageType {
  /// Echo request or reply: the query messages a NAT maps by identifier (RFC 5508 §3.1).
  @inlinable public static func isQuery(_ t: UInt8) -> Bool { t == echoRequest || t == echoReply }
}
