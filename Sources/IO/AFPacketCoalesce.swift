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
  public static let coalescedHeaderCapacity = VirtioNetHeader.length + SegmentRun.maximumHeaderLength

  /// Sends `packets[0..<n]` (n ≥ 2 of `count`) as one super-frame and releases them; `sent`
  /// false when the socket refused it (counted). `n` 0 when fewer than two can go together
  /// (then nothing was sent or released).
  @usableFromInline @inline(never)
  func sendCoalesced(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser, queue q: Int)
    -> (n: Int, bytes: Int, sent: Bool)
  {
    let txq = state.pointee.tx + q
    guard txq.pointee.gsoFD >= 0 else { return (0, 0, false) }
    guard let run = SegmentRun.find(packets, available: count, maxFrame: state.pointee.maxFrame) else { return (0, 0, false) }
    let n = run.count, headerLength = run.headerLength
    // The header: the first segment's, rewritten for the whole run (`SegmentRun.rewriteHeader`).
    let vnet = txq.pointee.header, h = vnet + VirtioNetHeader.length
    VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: VirtioNetHeader.gsoTCPv4, headerLength: UInt16(headerLength),
                    gsoSize: UInt16(run.segmentSize), csumStart: 34, csumOffset: 16).store(at: vnet)
    h.copyMemory(from: packets[0].data, byteCount: headerLength)
    run.rewriteHeader(h)
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
}
