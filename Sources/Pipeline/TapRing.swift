import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A single-producer single-consumer ring of fixed-size records that a worker fills
/// (captured frames, trace records) and the control thread empties: capture and live
/// trace's way out of the data plane.
///
/// Each slot is a `TapRecord` header of `headerSize` bytes followed by up to `dataBytes`
/// bytes of the frame. The producer never waits: when the ring is full the record is
/// counted in `lost` and dropped (the packet itself goes on untouched).
///
/// Thread safety: `reserve`/`commit` on the one worker that owns the ring; `drain` on the
/// control thread; `lost` is written by the producer only and read anywhere.
@frozen
public struct TapRing: @unchecked Sendable {
  public static let headerSize = 48
  public let capacity: Int
  public let dataBytes: Int
  @usableFromInline let slotSize: Int
  @usableFromInline let slots: UnsafeMutableRawPointer
  /// [0] head: records written (producer); [8] tail: records read (consumer); [16] lost.
  /// Head and tail sit on different cache lines.
  @usableFromInline let counters: UnsafeMutablePointer<Atomic<Int>>

  /// `capacity`: records (a power of two); `dataBytes`: frame bytes kept per record.
  public init(capacity: Int, dataBytes: Int) {
    precondition(capacity > 0 && capacity & (capacity - 1) == 0)
    self.capacity = capacity
    self.dataBytes = dataBytes
    slotSize = (Self.headerSize + dataBytes + 63) & ~63
    slots = .allocate(byteCount: slotSize * capacity, alignment: 64)
    counters = .allocate(capacity: 24)
    for i in 0..<24 { (counters + i).initialize(to: Atomic(0)) }
  }

  public func destroy() {
    slots.deallocate()
    counters.deinitialize(count: 24)
    counters.deallocate()
  }

  @inlinable var head: UnsafeMutablePointer<Atomic<Int>> { counters }
  @inlinable var tail: UnsafeMutablePointer<Atomic<Int>> { counters + 8 }
  @inlinable var lostCounter: UnsafeMutablePointer<Atomic<Int>> { counters + 16 }

  /// Records dropped because the ring was full.
  public var lost: Int { lostCounter.pointee.load(ordering: .relaxed) }

  /// The next free slot, or nil (counted as lost) when the consumer is `capacity` behind.
  /// Producer only; `commit` publishes what was written into it.
  @inlinable
  public func reserve() -> UnsafeMutableRawPointer? {
    let h = head.pointee.load(ordering: .relaxed)
    guard h &- tail.pointee.load(ordering: .acquiring) < capacity else {
      lostCounter.pointee.add(1, ordering: .relaxed)
      return nil
    }
    return slots + (h & (capacity &- 1)) &* slotSize
  }

  /// Publishes the slot `reserve` returned. Producer only.
  @inlinable
  public func commit() {
    head.pointee.add(1, ordering: .releasing)
  }

  /// Reads every published record, oldest first, and frees their slots. Consumer only.
  public func drain(_ body: (TapRecord) -> Void) {
    let t = tail.pointee.load(ordering: .relaxed), h = head.pointee.load(ordering: .acquiring)
    for i in t..<h {
      body(TapRecord(slots + (i & (capacity - 1)) * slotSize))
    }
    tail.pointee.store(h, ordering: .releasing)
  }
}

/// One record of a `TapRing`, as the worker wrote it:
///
///     0 time (ns, CLOCK_REALTIME)   8 snapshot generation   16 wire length   20 bytes kept
///     24 trace packet id   28 packet context   32 in port   34 out port   36 node   38 next
///     40 kind   41 drop reason   42 worker   48… the frame's first bytes
public struct TapRecord: Sendable {
  public enum Kind: UInt8, Sendable { case received = 0, transmitted = 1, traced = 2 }
  /// `node` of a trace record made as a packet enters the graph (before ethernet-input).
  public static let receivedNode: UInt16 = 0xfffe
  /// `node` of a trace record made by the interface's operator flows (before the graph);
  /// its context is the flow's number.
  public static let flowsNode: UInt16 = 0xfffd
  /// `next` of a trace record at a node that consumes the packet (output, drop, hand-off).
  public static let noNext: UInt16 = 0xffff

  public var time: UInt64
  public var generation: UInt64
  public var wireLength: Int
  public var kind: Kind
  public var packetID: UInt32
  public var context: UInt32
  public var inPort: UInt16
  public var outPort: UInt16
  public var node: UInt16
  public var next: UInt16
  public var drop: UInt8
  public var worker: Int
  public var bytes: [UInt8]

  init(_ p: UnsafeMutableRawPointer) {
    time = p.load(as: UInt64.self)
    generation = p.load(fromByteOffset: 8, as: UInt64.self)
    wireLength = Int(p.load(fromByteOffset: 16, as: UInt32.self))
    let kept = Int(p.load(fromByteOffset: 20, as: UInt32.self))
    packetID = p.load(fromByteOffset: 24, as: UInt32.self)
    context = p.load(fromByteOffset: 28, as: UInt32.self)
    inPort = p.load(fromByteOffset: 32, as: UInt16.self)
    outPort = p.load(fromByteOffset: 34, as: UInt16.self)
    node = p.load(fromByteOffset: 36, as: UInt16.self)
    next = p.load(fromByteOffset: 38, as: UInt16.self)
    kind = Kind(rawValue: p.load(fromByteOffset: 40, as: UInt8.self)) ?? .traced
    drop = p.load(fromByteOffset: 41, as: UInt8.self)
    worker = Int(p.load(fromByteOffset: 42, as: UInt8.self))
    bytes = Array(UnsafeRawBufferPointer(start: p + TapRing.headerSize, count: kept))
  }
}
