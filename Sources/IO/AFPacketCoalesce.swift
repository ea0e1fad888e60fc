import Buffers
import CAFPacketShim
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Super-frames on the way out of an AF_PACKET port: a run of segments that a port cut from
/// one TCP/IPv4 super-frame on receive (`Packet.Flag.segment`) and that still belong together
/// — consecutive in the burst, the same headers but for the fields segmentation sets (IPv4
/// length, identification and checksum; TCP sequence number, flags and checksum), contiguous
/// sequence numbers, all but the last of one segment size — leaves as one super-frame again,
/// described by a virtio_net_hdr (TSO4, that segment size, the TCP checksum left to the
/// receiver: CHECKSUM_PARTIAL, as between two veths). A VM's veth hands it to the VM's stack
/// whole, as a veth-to-veth path does; any other device segments it again in the kernel.
/// Gannet verified nothing of the segments' checksums on receive either: they came from a
/// super-frame whose checksum was itself left to offload, and were computed by `GSOFrame`.
///
/// Anything else — another protocol, a tagged frame, options differing, a segment over the
/// MTU — goes through the TX ring one frame at a time, as before. Frames put in the ring
/// earlier in the burst are kicked first, so frames leave in the order they came.
extension AFPacketPort {
  /// Room for a virtio_net_hdr and the longest Ethernet + IPv4 + TCP header taken (no IP options).
  public static let coalescedHeaderCapacity = VirtioNetHeader.length + 14 + 20 + 60

  /// Sends `packets[0..<n]` (n ≥ 2 of `count`) as one super-frame and releases them; `sent`
  /// false when the socket refused it (counted). `n` 0 when fewer than two can go together
  /// (then nothing was sent or released).
  @usableFromInline @inline(never)
  func sendCoalesced(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser, queue q: Int)
    -> (n: Int, bytes: Int, sent: Bool)
  {
    let txq = state.pointee.tx + q
    guard txq.pointee.gsoFD >= 0 else { return (0, 0, false) }
    let f = packets[0].data, firstLength = Int(packets[0].length)
    guard firstLength >= 54, f.loadBE16(at: 12) == EtherType.ipv4, f.loadU8(at: 14) == 0x45, f.loadU8(at: 23) == IPProtocol.tcp,
          f.loadBE16(at: 20) & 0x3fff == 0 else { return (0, 0, false) }
    let headerLength = 34 &+ Int(f.loadU8(at: 46) >> 4) &* 4
    let flags = f.loadU8(at: 47)
    let notBeforeTheLast = TCPHeader.Flags.fin | TCPHeader.Flags.syn | TCPHeader.Flags.rst | TCPHeader.Flags.psh | TCPHeader.Flags.urg
    let segmentSize = firstLength &- headerLength
    guard headerLength >= 54, headerLength &+ VirtioNetHeader.length <= Self.coalescedHeaderCapacity, segmentSize > 0,
          flags & notBeforeTheLast == 0, firstLength <= state.pointee.maxFrame else { return (0, 0, false) }
    var n = 1, payload = segmentSize, lastFlags = flags
    var seq = f.loadBE32(at: 38) &+ UInt32(segmentSize)
    while n < count {
      let p = packets[n], d = p.data, length = Int(p.length), size = length &- headerLength
      guard p.flags & Packet.Flag.segment != 0, size > 0, size <= segmentSize, length <= state.pointee.maxFrame,
            payload &+ size &+ headerLength &- 14 <= 65_535, d.loadBE32(at: 38) == seq,
            Self.sameFlow(f, d, headerLength: headerLength) else { break }
      let fl = d.loadU8(at: 47)
      guard fl & ~(TCPHeader.Flags.fin | TCPHeader.Flags.psh) == flags & ~Self.cwr else { break }
      n &+= 1
      payload &+= size
      seq &+= UInt32(size)
      lastFlags = fl
      if size < segmentSize || fl & (TCPHeader.Flags.fin | TCPHeader.Flags.psh) != 0 { break }   // its super-frame's last
    }
    guard n >= 2 else { return (0, 0, false) }
    // The header: the first segment's, with the whole length, the last one's FIN and PSH,
    // and in the checksum field the pseudo-header sum the receiver completes.
    let vnet = txq.pointee.header, h = vnet + VirtioNetHeader.length
    VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: VirtioNetHeader.gsoTCPv4, headerLength: UInt16(headerLength),
                    gsoSize: UInt16(segmentSize), csumStart: 34, csumOffset: 16).store(at: vnet)
    h.copyMemory(from: f, byteCount: headerLength)
    let ipLength = headerLength &- 14 &+ payload
    h.storeBE16(UInt16(ipLength), at: 16)
    h.storeBE16(0, at: 24)
    h.storeBE16(Checksum.compute(h + 14, count: 20), at: 24)
    h.storeU8(flags | lastFlags & (TCPHeader.Flags.fin | TCPHeader.Flags.psh), at: 47)
    let pseudo = Checksum.partialSum(h + 26, count: 8) &+ UInt64(IPProtocol.tcp) &+ UInt64(ipLength &- 20)
    h.storeBE16(~Checksum.finish(pseudo), at: 50)
    let iov = txq.pointee.iov
    iov[0] = iovec(iov_base: vnet, iov_len: VirtioNetHeader.length &+ headerLength)
    var bytes = 0
    for k in 0..<n {
      let p = packets[k]
      iov[k &+ 1] = iovec(iov_base: p.data + headerLength, iov_len: Int(p.length) &- headerLength)
      bytes &+= Int(p.length)
    }
    if txq.pointee.unkicked > 0 {
      _ = cafp_tx_kick(&txq.pointee.ring)
      txq.pointee.unkicked = 0
    }
    let rc = cafp_send_iov(txq.pointee.gsoFD, iov, Int32(n &+ 1))
    for k in 0..<n { releaser.release(packets[k]) }
    guard rc == 0 else {
      counters.addDrop(.txRingFull, UInt64(n), queue: q)   // the socket's buffer is full, as a ring would be
      return (n, 0, false)
    }
    counters.add(PortCounter.txSuperFrames, 1, queue: q)
    return (n, bytes, true)
  }

  @usableFromInline static let cwr: UInt8 = 0x80

  /// Whether frame `d` has `f`'s headers but for what segmentation sets (see above).
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
