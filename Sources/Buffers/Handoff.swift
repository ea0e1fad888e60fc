import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A single-producer single-consumer ring that moves packets from one worker to another,
/// each with the graph node it resumes at on the receiving worker (VPP's worker handoff:
/// `vlib_buffer_enqueue_to_thread`). The producer never waits: when the ring is full the
/// caller drops the packet and counts it.
///
/// Buffers stay with their owners. An mbuf travels as it is (DPDK mempools may be freed
/// into from any thread); a native buffer belongs to the producer's `NativePool`, which only
/// its worker may touch, so its frame is copied into the ring's slot (at the same offset
/// from the buffer start, so the headroom is kept), the buffer goes back to the producer's
/// pool at once, and the consumer copies the frame into a buffer of its own pool.
///
///     control: | head, next, cached tail (producer) ..... | tail (consumer) ..... |   a cache line each
///     slots:   descriptor (Packet) + node, and a frame area of `frameRoom` bytes each
///
/// Thread safety: `push` and `publish` on the producing worker only, `pop` on the consuming
/// worker only. `push` fills slots from `next`; `publish` makes them visible with one
/// releasing store of `head` (once per vector, not per packet), which the consumer reads
/// acquiring; `tail` likewise in the other direction. The producer re-reads `tail` only when
/// its cached copy says the ring is full, so the consumer's line is not pulled over per packet.
@frozen
public struct HandoffRing: @unchecked Sendable {
  public let capacity: Int
  @usableFromInline let mask: Int
  /// [0] head: slots published; [1] next: slots written (producer); [2] the producer's last
  /// read of tail; [8] tail: slots consumed. Monotonic counters.
  @usableFromInline let control: UnsafeMutablePointer<Atomic<Int>>
  @usableFromInline let descriptors: UnsafeMutablePointer<Packet>
  @usableFromInline let nodes: UnsafeMutablePointer<UInt16>
  /// The slots' frame areas: anonymous memory from the kernel, so pages cost memory only once
  /// a native frame was copied into them (mbufs never touch them).
  @usableFromInline let frames: UnsafeMutableRawPointer
  let framesBytes: Int
  /// Bytes per slot's frame area: a native buffer's headroom and data room.
  public let frameRoom: Int

  /// `capacity` is rounded up to a power of two: 4,096 slots ride out about a millisecond in
  /// which the consumer does not poll (descheduled) at full rate. Control thread, before the
  /// workers start.
  public init(capacity: Int = 4096, frameRoom: Int = NativePool.defaultHeadroom + NativePool.defaultDataRoom) {
    var c = 1
    while c < capacity { c <<= 1 }
    self.capacity = c
    mask = c - 1
    control = .allocate(capacity: 16)
    for i in 0..<16 { (control + i).initialize(to: Atomic(0)) }
    descriptors = .allocate(capacity: c)
    nodes = .allocate(capacity: c)
    self.frameRoom = frameRoom
    framesBytes = c * frameRoom
    let m = mmap(nil, framesBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let m, m != MAP_FAILED else { fatalError("HandoffRing: cannot map \(framesBytes) bytes") }
    frames = m
  }

  /// Frees the ring. Control thread, after both workers stopped; packets still in it are
  /// released first (`drain`).
  public func destroy() {
    control.deinitialize(count: 16)
    control.deallocate()
    descriptors.deallocate()
    nodes.deallocate()
    munmap(frames, framesBytes)
  }

  /// Packets waiting (any thread; a snapshot).
  public var count: Int { control[0].load(ordering: .acquiring) &- control[8].load(ordering: .acquiring) }

  /// Producer: hands `p` over, to resume at `node`, once `publish` runs. Returns false,
  /// having done nothing, when the ring is full or a native frame does not fit a slot; the
  /// caller drops the packet. On success the packet belongs to the consumer (a native buffer
  /// is already back in `pool`, the producer's).
  @inlinable
  public func push(_ p: Packet, node: UInt16, pool: NativePool) -> Bool {
    let next = control[1].load(ordering: .relaxed)
    if next &- control[2].load(ordering: .relaxed) >= capacity {
      control[2].store(control[8].load(ordering: .acquiring), ordering: .relaxed)
      guard next &- control[2].load(ordering: .relaxed) < capacity else { return false }
    }
    let slot = next & mask
    var d = p
    if !p.isMbuf {
      let offset = p.data - p.buffer
      guard offset >= 0, offset &+ Int(p.length) <= frameRoom else { return false }
      let area = frames + slot &* frameRoom
      memcpy(area + offset, p.data, Int(p.length))
      pool.free(p.buffer)
      d.buffer = area
      d.data = area + offset
    }
    descriptors[slot] = d
    nodes[slot] = node
    control[1].store(next &+ 1, ordering: .relaxed)
    return true
  }

  /// Producer: makes every pushed packet visible to the consumer.
  @inlinable
  public func publish() {
    let next = control[1].load(ordering: .relaxed)
    if control[0].load(ordering: .relaxed) != next { control[0].store(next, ordering: .releasing) }
  }

  /// Consumer: moves up to `max` waiting packets into `vectors[node]` (the graph's pending
  /// vectors), native frames into buffers of `pool` (the consumer's). A native frame that
  /// finds no free buffer is dropped: returned in `noBuffer`. Returns how many were moved.
  @inlinable
  public func pop(into vectors: UnsafeMutablePointer<PacketVector>, max: Int, pool: NativePool, noBuffer: inout Int) -> Int {
    let tail = control[8].load(ordering: .relaxed)
    let n = Swift.min(control[0].load(ordering: .acquiring) &- tail, max)
    guard n > 0 else { return 0 }
    var moved = 0
    for k in 0..<n {
      let slot = (tail &+ k) & mask
      var d = descriptors[slot]
      if !d.isMbuf {
        guard let b = pool.alloc() else {
          noBuffer &+= 1
          continue
        }
        let offset = d.data - d.buffer
        memcpy(b + offset, d.data, Int(d.length))
        d.buffer = b
        d.data = b + offset
      }
      vectors[Int(nodes[slot])].append(d)
      moved &+= 1
    }
    control[8].store(tail &+ n, ordering: .releasing)
    return moved
  }
}

/// The handoff rings of `workers` workers: one ring for every ordered pair (from, to).
///
/// Thread safety: built and destroyed by the control thread while no worker runs; the
/// rings themselves as `HandoffRing` says.
@frozen
public struct Handoff: @unchecked Sendable {
  public let workers: Int
  @usableFromInline let rings: UnsafeMutablePointer<HandoffRing>

  public init(workers: Int, capacity: Int = 4096) {
    precondition(workers >= 1 && workers <= 256)
    self.workers = workers
    rings = .allocate(capacity: workers * workers)
    for i in 0..<(workers * workers) { (rings + i).initialize(to: HandoffRing(capacity: i % (workers + 1) == 0 ? 1 : capacity)) }
  }

  /// The ring from worker `from` to worker `to` (`from != to`).
  @inlinable public func ring(from: Int, to: Int) -> HandoffRing { rings[from &* workers &+ to] }

  /// Releases the mbufs still waiting in any ring (native frames live in the rings
  /// themselves), then frees the rings. Control thread, after every worker stopped.
  public func destroy(releaseMbuf: (Packet) -> Void) {
    for i in 0..<(workers * workers) {
      let r = rings[i]
      var t = r.control[8].load(ordering: .acquiring)
      let h = r.control[0].load(ordering: .acquiring)
      while t != h {
        let d = r.descriptors[t & r.mask]
        if d.isMbuf { releaseMbuf(d) }
        t &+= 1
      }
      r.destroy()
    }
    rings.deinitialize(count: workers * workers)
    rings.deallocate()
  }
}
