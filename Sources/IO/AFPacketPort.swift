import Buffers
import CAFPacketShim
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A Linux interface opened through AF_PACKET with a TPACKET_V3 RX ring and mmap TX
/// rings (packet(7)); non-blocking, busy-polled by one worker.
///
/// RX copies each frame out of its ring block into a native buffer and returns the block
/// to the kernel once all its frames are copied, so a slow stage never holds the ring.
/// A VLAN tag the kernel stripped into metadata is put back into the frame. Each frame
/// comes with the sender's offload description (`PACKET_VNET_HDR`): a TCP/UDP checksum left
/// to offload is completed, and a TSO/GSO super-frame (up to 64 KiB from a guest's veth
/// with its offloads at their defaults) is segmented in software (`GSOFrame`) into frames
/// of the sender's segment size, each checksummed, so every later stage — VXLAN, routing
/// with its MTU, NAT, another VM's port — sees only frames the wire could carry. A
/// super-frame is segmented across bursts when its segments outnumber the burst. TX copies
/// into free TX frames, marks them, and kicks the kernel once per burst. Each worker
/// transmits on its own TX ring (queue 0 is the main socket's; queues 1… are TX-only
/// sockets), so no two threads share a ring.
@frozen
public struct AFPacketPort {
  @usableFromInline struct State {
    @usableFromInline var ring: cafp_ring
    /// RX cursor: current block, frames left in it, next frame header.
    @usableFromInline var block: UInt32
    @usableFromInline var remaining: UInt32
    @usableFromInline var frame: UnsafeMutablePointer<tpacket3_hdr>?
    /// The next segment of `frame` when it is a super-frame being segmented, else 0.
    @usableFromInline var segment: Int
    let interface: String
    /// One TX ring per queue; `tx[0]` is `ring` (the same socket).
    @usableFromInline let tx: UnsafeMutablePointer<TxQueue>
    @usableFromInline let txQueues: Int
    /// The longest frame the interface takes: its MTU plus the Ethernet header (the kernel
    /// allows 4 more for a VLAN-tagged frame; packet_snd/tpacket_snd).
    @usableFromInline let maxFrame: Int
  }
  @usableFromInline struct TxQueue {
    @usableFromInline var ring: cafp_ring
    @usableFromInline var head: UInt32
    /// Frames in the ring not yet kicked (a super-frame sent past the ring kicks them first).
    @usableFromInline var unkicked: Int
    /// Super-frames (`sendCoalesced`): their socket (-1: none, segments go one by one), the
    /// iovecs and the header of the one being sent.
    @usableFromInline let gsoFD: Int32
    @usableFromInline let iov: UnsafeMutablePointer<iovec>
    @usableFromInline let header: UnsafeMutableRawPointer
  }
  @usableFromInline let state: UnsafeMutablePointer<State>
  public let counters: CounterBlock
  /// The Linux interface name (kept in `state` so the port value holds no reference).
  public var interface: String { state.pointee.interface }

  /// Ring geometry. The defaults hold 8 MiB of RX blocks and 1024 TX frames of 2 KiB.
  public struct Geometry: Sendable {
    public var rxBlockSize = 1 << 20
    public var rxBlocks = 8
    public var rxFrameSize = 2048
    public var txFrameSize = 4096
    public var txFrames = 1024
    /// How long the kernel may hold a partly filled block before handing it over.
    public var retireTimeoutMs = 1
    public init() {}
  }

  public static func open(interface: String, txQueues: Int = 1, geometry: Geometry = Geometry()) throws(IOError) -> AFPacketPort {
    precondition(txQueues >= 1)
    func openRing(rx: Bool) throws(IOError) -> cafp_ring {
      var ring = cafp_ring()
      var step: UnsafePointer<CChar>? = nil
      let rc = cafp_open(interface, UInt32(geometry.rxBlockSize), rx ? UInt32(geometry.rxBlocks) : 0, UInt32(geometry.rxFrameSize),
                         UInt32(geometry.txFrameSize), UInt32(geometry.txFrames), UInt32(geometry.retireTimeoutMs), &ring, &step)
      guard rc == 0 else {
        let what = step.map { String(cString: $0) } ?? "?"
        throw IOError("AF_PACKET on \(interface): \(what) failed: \(String(cString: strerror(-rc)))")
      }
      return ring
    }
    var rings = [try openRing(rx: true)]
    for _ in 1..<txQueues {
      do { rings.append(try openRing(rx: false)) } catch {
        for var r in rings { cafp_close(&r) }
        throw error
      }
    }
    let tx = UnsafeMutablePointer<TxQueue>.allocate(capacity: txQueues)
    for (i, r) in rings.enumerated() {
      (tx + i).initialize(to: TxQueue(ring: r, head: 0, unkicked: 0, gsoFD: max(cafp_open_gso_socket(r.ifindex), -1),
                                      iov: .allocate(capacity: PacketVector.capacity + 1),
                                      header: .allocate(byteCount: Self.coalescedHeaderCapacity, alignment: 8)))
    }
    let s = UnsafeMutablePointer<State>.allocate(capacity: 1)
    s.initialize(to: State(ring: rings[0], block: 0, remaining: 0, frame: nil, segment: 0, interface: interface, tx: tx,
                           txQueues: txQueues, maxFrame: Int(rings[0].mtu) + 14))
    return AFPacketPort(state: s, counters: CounterBlock(count: PortCounter.blockSize * txQueues))
  }

  @usableFromInline init(state: UnsafeMutablePointer<State>, counters: CounterBlock) {
    self.state = state
    self.counters = counters
  }

  @inlinable
  public func rx(into v: inout PacketVector, max: Int, inPort: UInt16, pool: NativePool) -> Int {
    var got = 0
    var bytes = 0
    while got < max {
      if state.pointee.remaining == 0 {
        // Current block done (or none yet): release it and look at the next one.
        if state.pointee.frame != nil {
          cafp_rx_block_release(cafp_rx_block(&state.pointee.ring, state.pointee.block))
          state.pointee.frame = nil
          state.pointee.block = (state.pointee.block &+ 1) % state.pointee.ring.rx_block_nr
        }
        let b = cafp_rx_block(&state.pointee.ring, state.pointee.block)!
        guard cafp_rx_block_ready(b) else { break }
        let n = cafp_rx_block_num_pkts(b)
        state.pointee.frame = cafp_rx_block_first(b)
        state.pointee.remaining = n
        if n == 0 { continue }
      }
      let f = state.pointee.frame.unsafelyUnwrapped
      let vnet = VirtioNetHeader(at: cafp_rx_pkt_vnet(f))
      if vnet.isGSO {
        let (n, b, done) = receiveSegments(f, vnet, into: &v, budget: max &- got, inPort: inPort, pool: pool)
        got &+= n
        bytes &+= b
        guard done else { break }   // the vector is full: the rest on the next burst
        state.pointee.remaining &-= 1
        state.pointee.frame = cafp_rx_pkt_next(f)
        continue
      }
      state.pointee.remaining &-= 1
      state.pointee.frame = cafp_rx_pkt_next(f)
      let snap = Int(cafp_rx_pkt_snaplen(f))
      var tci: UInt16 = 0, tpid: UInt16 = 0
      let tagged = cafp_rx_pkt_vlan(f, &tci, &tpid)
      let len = snap &+ (tagged ? 4 : 0)
      guard snap >= 12, len <= pool.dataRoom, Int(cafp_rx_pkt_len(f)) == snap else {
        counters.addDrop(.rxTruncated)
        continue
      }
      guard let buf = pool.alloc() else {
        counters.addDrop(.rxNoBuffer)
        continue
      }
      let dst = buf + pool.headroom
      let src = UnsafeRawPointer(cafp_rx_pkt_data(f)!)
      if tagged {
        // dst(6) src(6) | TPID TCI | rest: reinsert the tag the kernel took off.
        dst.copyMemory(from: src, byteCount: 12)
        dst.storeBE16(tpid, at: 12)
        dst.storeBE16(tci, at: 14)
        (dst + 16).copyMemory(from: src + 12, byteCount: snap &- 12)
      } else {
        dst.copyMemory(from: src, byteCount: snap)
      }
      if vnet.flags & VirtioNetHeader.needsChecksum != 0 {
        // Sent with checksum offload (veth, loopback): finish the checksum here, as the
        // NIC would have, before the frame goes anywhere else.
        _ = ChecksumOffload.completeIPv4(frame: dst, length: len)
      }
      v.append(Packet(data: dst, buffer: buf, length: UInt32(len), inPort: inPort, flags: 0))
      got &+= 1
      bytes &+= len
    }
    counters.countRx(got, bytes: bytes)
    return got
  }

  /// Segments super-frame `f` from `state.segment` on, at most `budget` segments; `done`
  /// when its last segment is out (or the frame was dropped: counted by reason).
  @usableFromInline @inline(never)
  func receiveSegments(_ f: UnsafeMutablePointer<tpacket3_hdr>, _ vnet: VirtioNetHeader, into v: inout PacketVector, budget: Int,
                       inPort: UInt16, pool: NativePool) -> (packets: Int, bytes: Int, done: Bool) {
    let snap = Int(cafp_rx_pkt_snaplen(f))
    guard Int(cafp_rx_pkt_len(f)) == snap else {
      counters.addDrop(.rxTruncated)
      return (0, 0, true)
    }
    let gso: GSOFrame
    do throws(DropReason) {
      gso = try GSOFrame(validating: UnsafeRawPointer(cafp_rx_pkt_data(f)!), length: snap, vnet: vnet)
    } catch {
      counters.addDrop(error)
      return (0, 0, true)
    }
    var tci: UInt16 = 0, tpid: UInt16 = 0
    let tag = cafp_rx_pkt_vlan(f, &tci, &tpid) ? 4 : 0
    guard gso.segmentLength(0) &+ tag <= pool.dataRoom else {   // the first segment is the longest
      counters.addDrop(.rxTruncated)
      return (0, 0, true)
    }
    var k = state.pointee.segment, n = 0, bytes = 0
    while k < gso.count && n < budget {
      defer { k &+= 1 }
      guard let buf = pool.alloc() else {
        counters.addDrop(.rxNoBuffer)
        continue
      }
      let dst = buf + pool.headroom
      let len = gso.write(segment: k, to: dst + tag) &+ tag
      if tag != 0 {
        // Written 4 bytes in: move the MACs down and put the tag back between them and the EtherType.
        dst.copyMemory(from: dst + 4, byteCount: 12)
        dst.storeBE16(tpid, at: 12)
        dst.storeBE16(tci, at: 14)
      }
      v.append(Packet(data: dst, buffer: buf, length: UInt32(len), inPort: inPort, flags: Packet.Flag.segment))
      n &+= 1
      bytes &+= len
    }
    state.pointee.segment = k == gso.count ? 0 : k
    if k == gso.count { counters.add(PortCounter.rxSuperFrames, 1) }
    counters.add(PortCounter.rxSegments, UInt64(n))
    return (n, bytes, k == gso.count)
  }

  @inlinable
  public func tx(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser, queue q: Int) -> Int {
    let txq = state.pointee.tx + q
    let capacity = Int(cafp_tx_frame_capacity(&txq.pointee.ring))
    let frames = txq.pointee.ring.tx_frame_nr
    var sent = 0
    var bytes = 0
    var i = 0
    while i < count {
      let p = packets[i]
      // Segments of one super-frame leave as one again where they can (a VM's veth takes it whole).
      if p.flags & Packet.Flag.segment != 0 && i &+ 1 < count && packets[i &+ 1].flags & Packet.Flag.segment != 0 {
        let (n, b, ok) = sendCoalesced(packets + i, count: count &- i, releaser: releaser, queue: q)
        if n > 0 {
          if ok {
            sent &+= n
            bytes &+= b
          }
          i &+= n
          continue
        }
      }
      i &+= 1
      let len = Int(p.length)
      defer { releaser.release(p) }
      guard len <= capacity else {
        counters.addDrop(.txFrameTooLong, queue: q)
        continue
      }
      // The kernel refuses a frame over the MTU (PACKET_LOSS then skips it silently):
      // count it here instead, by name.
      guard len <= state.pointee.maxFrame
        || (len <= state.pointee.maxFrame &+ 4 && p.data.loadBE16(at: 12) == EtherType.vlan) else {
        counters.addDrop(.txMTUExceeded, queue: q)
        continue
      }
      let f = cafp_tx_frame(&txq.pointee.ring, txq.pointee.head)!
      guard cafp_tx_frame_free(f) else {
        counters.addDrop(.txRingFull, queue: q)
        continue
      }
      UnsafeMutableRawPointer(cafp_tx_frame_data(f)!).copyMemory(from: p.data, byteCount: len)
      cafp_tx_frame_submit(f, UInt32(len))
      txq.pointee.head = (txq.pointee.head &+ 1) % frames
      txq.pointee.unkicked &+= 1
      sent &+= 1
      bytes &+= len
    }
    // EAGAIN/ENOBUFS leave frames marked; the next kick sends them.
    if txq.pointee.unkicked > 0 {
      _ = cafp_tx_kick(&txq.pointee.ring)
      txq.pointee.unkicked = 0
    }
    counters.countTx(sent, bytes: bytes, queue: q)
    return sent
  }

  /// Adds the frames the kernel dropped for a full RX ring since the last call to the
  /// port's `rx-ring-overflow` counter. Control thread only: it is that counter's one writer.
  public func collectKernelDrops() {
    let n = cafp_rx_ring_drops(&state.pointee.ring)
    if n > 0 { counters.addDrop(.rxRingOverflow, UInt64(n)) }
  }

  public func close() {
    cafp_close(&state.pointee.ring)
    for q in 1..<max(state.pointee.txQueues, 1) { cafp_close(&state.pointee.tx[q].ring) }
    for q in 0..<state.pointee.txQueues {
      let t = state.pointee.tx[q]
      if t.gsoFD >= 0 { Glibc.close(t.gsoFD) }
      t.iov.deallocate()
      t.header.deallocate()
    }
    state.pointee.tx.deinitialize(count: state.pointee.txQueues)
    state.pointee.tx.deallocate()
    state.deinitialize(count: 1)
    state.deallocate()
  }
}
