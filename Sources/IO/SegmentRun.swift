import Buffers
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A run of segments that a port cut from one TCP/IPv4 super-frame on receive
/// (`Packet.Flag.segment`) and that still belong together: consecutive in a burst, the same
/// headers but for the fields segmentation sets (IPv4 length, identification and checksum;
/// TCP sequence number, flags and checksum), contiguous sequence numbers, all but the last of
/// one segment size, no FIN/SYN/RST/PSH/URG before the last. An egress that takes
/// super-frames sends such a run as one again (`AFPacketPort.sendCoalesced`, and a vhost-user
/// guest that negotiated TSO4, `DPDKPort`). Pure; any thread.
@frozen
public struct SegmentRun {
  /// How many packets, their common header length (Ethernet + IPv4 + TCP), the segment size,
  /// the payload bytes of the whole run, and the last segment's TCP flags.
  public let count: Int, headerLength: Int, segmentSize: Int, payload: Int, lastFlags: UInt8

  /// The run that starts at `packets[0]` (of `available`), with no frame over `maxFrame`;
  /// nil when fewer than two packets go together.
  public static func find(_ packets: UnsafeMutablePointer<Packet>, available: Int, maxFrame: Int) -> SegmentRun? {
    let f = packets[0].data, firstLength = Int(packets[0].length)
    guard firstLength >= 54, f.loadBE16(at: 12) == EtherType.ipv4, f.loadU8(at: 14) == 0x45, f.loadU8(at: 23) == IPProtocol.tcp,
          f.loadBE16(at: 20) & 0x3fff == 0 else { return nil }
    let headerLength = 34 &+ Int(f.loadU8(at: 46) >> 4) &* 4
    let flags = f.loadU8(at: 47)
    let notBeforeTheLast = TCPHeader.Flags.fin | TCPHeader.Flags.syn | TCPHeader.Flags.rst | TCPHeader.Flags.psh | TCPHeader.Flags.urg
    let segmentSize = firstLength &- headerLength
    guard headerLength >= 54, headerLength <= maximumHeaderLength, segmentSize > 0, flags & notBeforeTheLast == 0,
          firstLength <= maxFrame else { return nil }
    var n = 1, payload = segmentSize, lastFlags = flags
    var seq = f.loadBE32(at: 38) &+ UInt32(segmentSize)
    while n < available {
      let p = packets[n], d = p.data, length = Int(p.length), size = length &- headerLength
      guard p.flags & Packet.Flag.segment != 0, size > 0, size <= segmentSize, length <= maxFrame,
            payload &+ size &+ headerLength &- 14 <= 65_535, d.loadBE32(at: 38) == seq,
            sameFlow(f, d, headerLength: headerLength) else { break }
      let fl = d.loadU8(at: 47)
      guard fl & ~(TCPHeader.Flags.fin | TCPHeader.Flags.psh) == flags & ~cwr else { break }
      n &+= 1
      payload &+= size
      seq &+= UInt32(size)
      lastFlags = fl
      if size < segmentSize || fl & (TCPHeader.Flags.fin | TCPHeader.Flags.psh) != 0 { break }   // its super-frame's last
    }
    guard n >= 2 else { return nil }
    return SegmentRun(count: n, headerLength: headerLength, segmentSize: segmentSize, payload: payload, lastFlags: lastFlags)
  }

  /// Ethernet + IPv4 without options + the longest TCP header.
  public static let maximumHeaderLength = 14 + 20 + 60
  static let cwr: UInt8 = 0x80

  /// Rewrites the header `h` (a copy of the first segment's, or that segment itself) into the
  /// super-frame's: the whole length, a fresh IPv4 checksum, the last segment's FIN and PSH,
  /// and in the TCP checksum field the pseudo-header sum that whoever segments completes
  /// (Linux CHECKSUM_PARTIAL, DPDK's TX_TCP_CKSUM convention).
  public func rewriteHeader(_ h: UnsafeMutableRawPointer) {
    let ipLength = headerLength &- 14 &+ payload
    h.storeBE16(UInt16(ipLength), at: 16)
    h.storeBE16(0, at: 24)
    h.storeBE16(Checksum.compute(h + 14, count: 20), at: 24)
    h.storeU8(h.loadU8(at: 47) | lastFlags & (TCPHeader.Flags.fin | TCPHeader.Flags.psh), at: 47)
    let pseudo = Checksum.partialSum(h + 26, count: 8) &+ UInt64(IPProtocol.tcp) &+ UInt64(ipLength &- 20)
    h.storeBE16(~Checksum.finish(pseudo), at: 50)
  }

  /// Whether frame `d` has `f`'s headers but for what segmentation sets.
  @inlinable
  static func sameFlow(_ f: UnsafeMutableRawPointer, _ d: UnsafeMutableRawPointer, headerLength: Int) -> Bool {
    memcmp(f, d, 16) == 0                  // Ethernet, IPv4 version and TOS
      && memcmp(f + 20, d + 20, 4) == 0    // fragment field, TTL, protocol
      && memcmp(f + 26, d + 26, 12) == 0   // addresses, ports
      && memcmp(f + 42, d + 42, 5) == 0    // acknowledgment, data offset
      && memcmp(f + 48, d + 48, 2) == 0    // window
      && memcmp(f + 52, d + 52, headerLength &- 52) == 0   // urgent pointer, options
  }
}
