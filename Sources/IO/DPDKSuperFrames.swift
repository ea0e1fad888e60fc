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
