import Buffers
import CDPDKShim
import Wire

/// Super-frames on DPDK ports: a vhost-user guest's TSO (net_vhost offers
/// VIRTIO_NET_F_HOST_TSO4/6 with `tso=1`; its checksum offload, VIRTIO_NET_F_CSUM, net_vhost
/// completes in software itself as Gannet asks for no RX checksum offload). A super-frame
/// arrives as an mbuf chain flagged `RTE_MBUF_F_RX_LRO` with the guest's segment size; it is
/// copied into one contiguous buffer and segmented by `GSOFrame` into mbufs of the port's
/// pool, as the AF_PACKET ports do, so the pipeline only sees frames the wire could carry.
/// Any other chain (a frame above the mbuf data room) is dropped as `rx-truncated`.
///
/// Thread safety: `backlog[q]` belongs to the worker whose first RX queue is `q`.
@frozen
public struct RxBacklog {
  /// Mbufs `scratch[start..<end]` of the last burst, not yet handed on.
  @usableFromInline var start = 0, end = 0
  /// The next segment of the super-frame at `scratch[start]` (0: not started), and the
  /// length of its copy in `buffer` (vhost-user ports only).
  @usableFromInline var segment = 0, length = 0
  @usableFromInline let buffer: UnsafeMutableRawPointer?
  init(buffer: UnsafeMutableRawPointer?) { self.buffer = buffer }
}

extension DPDKPort {
  /// The longest super-frame taken: a 64 KiB IP datagram behind two VLAN tags.
  public static let superFrameCapacity = 65_535 + 22

  /// Hands on segments of super-frame `m`, from `backlog[queue].segment`, at most `budget`;
  /// `done` when the last is out or the frame was dropped (then `m` is freed).
  @usableFromInline @inline(never)
  func receiveSuperFrame(_ m: OpaquePointer, into v: inout PacketVector, budget: Int, inPort: UInt16,
                         queue q: Int) -> (packets: Int, bytes: Int, done: Bool) {
    let b = backlog + q
    func drop(_ reason: DropReason) -> (packets: Int, bytes: Int, done: Bool) {
      cdpdk_mbuf_free(m)
      b.pointee.segment = 0
      counters.addDrop(reason, queue: q)
      return (0, 0, true)
    }
    guard cdpdk_mbuf_is_super_frame(m), let buffer = b.pointee.buffer else { return drop(.rxTruncated) }
    if b.pointee.segment == 0 {
      let n = cdpdk_mbuf_linearize_into(m, buffer.assumingMemoryBound(to: UInt8.self), UInt32(Self.superFrameCapacity))
      guard n > 0 else { return drop(.rxTruncated) }
      b.pointee.length = Int(n)
    }
    // TCP over IPv4 or IPv6 alike (GSOFrame reads the version from the frame); a UDP
    // datagram (the guest's UFO) is refused as unsupported.
    let gso: GSOFrame
    do throws(DropReason) {
      gso = try GSOFrame(validating: buffer, length: b.pointee.length,
                         vnet: VirtioNetHeader(gsoType: VirtioNetHeader.gsoTCPv4, gsoSize: cdpdk_mbuf_tso_segsz(m)))
    } catch {
      return drop(error)
    }
    var k = b.pointee.segment, n = 0, bytes = 0
    while k < gso.count && n < budget {
      defer { k &+= 1 }
      guard let s = cdpdk_mbuf_alloc(pool) else {
        counters.addDrop(.rxNoBuffer, queue: q)
        continue
      }
      let len = gso.segmentLength(k)
      guard len <= Int(cdpdk_mbuf_tailroom(s)) else {
        cdpdk_mbuf_free(s)
        counters.addDrop(.rxTruncated, queue: q)
        continue
      }
      let data = cdpdk_mbuf_data(s)!
      _ = gso.write(segment: k, to: data)
      cdpdk_mbuf_set_data_ptr(s, data, UInt16(truncatingIfNeeded: len))
      v.append(Packet(data: data, buffer: UnsafeMutableRawPointer(s), length: UInt32(len), inPort: inPort,
                      flags: Packet.Flag.mbuf | Packet.Flag.segment))
      n &+= 1
      bytes &+= len
    }
    counters.add(PortCounter.rxSegments, UInt64(n), queue: q)
    guard k == gso.count else {
      b.pointee.segment = k
      return (n, bytes, false)
    }
    b.pointee.segment = 0
    cdpdk_mbuf_free(m)
    counters.add(PortCounter.rxSuperFrames, 1, queue: q)
    return (n, bytes, true)
  }
}

extension DPDKPort {
  /// Chains the `SegmentRun` at `packets[0]` (of `count`) into one TSO mbuf for a guest that
  /// negotiated GUEST_TSO4 (the vhost library writes the guest's virtio_net_hdr from it:
  /// TCPV4, the segment size, the checksum left to the guest). `n` 0: no run, nothing done;
  /// `mbuf` nil with `n` > 0: the run was consumed and dropped (no mbuf, counted). Native
  /// buffers are copied into mbufs of the port's pool; every packet of the run is released.
  @usableFromInline @inline(never)
  func superFrameForGuest(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser, queue q: Int)
    -> (mbuf: OpaquePointer?, n: Int, bytes: Int)
  {
    guard let run = SegmentRun.find(packets, available: count, maxFrame: 65_535) else { return (nil, 0, 0) }
    let segs = chain + q &* PacketVector.capacity
    var bytes = 0
    for k in 0..<run.count {
      let p = packets[k], len = Int(p.length)
      bytes &+= len
      if p.isMbuf {
        cdpdk_mbuf_set_data_ptr(p.mbuf, p.data, UInt16(truncatingIfNeeded: len))
        segs[k] = p.mbuf
        continue
      }
      guard let m = cdpdk_mbuf_alloc(pool), len <= Int(cdpdk_mbuf_tailroom(m)) else {
        // Out of mbufs: the run is dropped whole (a hole in the middle would only be retransmitted).
        for j in 0..<k { cdpdk_mbuf_free(segs[j].unsafelyUnwrapped) }
        for j in k..<run.count { if packets[j].isMbuf { cdpdk_mbuf_free(packets[j].mbuf) } else { releaser.release(packets[j]) } }
        counters.addDrop(.txNoBuffer, UInt64(run.count), queue: q)
        return (nil, run.count, 0)
      }
      let dst = cdpdk_mbuf_data(m)!
      dst.copyMemory(from: p.data, byteCount: len)
      cdpdk_mbuf_set_data_ptr(m, dst, UInt16(truncatingIfNeeded: len))
      releaser.release(p)
      segs[k] = m
    }
    run.rewriteHeader(cdpdk_mbuf_data(segs[0].unsafelyUnwrapped)!)
    cdpdk_mbuf_make_tso4(segs, UInt16(run.count), UInt16(run.headerLength), UInt16(run.headerLength &- 34), UInt16(run.segmentSize))
    counters.add(PortCounter.txSuperFrames, 1, queue: q)
    return (segs[0], run.count, bytes)
  }
}
