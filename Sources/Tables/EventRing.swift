import Synchronization

/// A single-producer, single-consumer ring of events from a worker to the control thread:
/// "source MAC seen on an interface" (MAC learning) and "neighbour IP is at MAC" (ARP seen on
/// the underlay). The worker never waits: when the ring is full the event is counted in
/// `overflows` and dropped (the next frame from that MAC, or the next ARP reply, announces
/// it again).
///
/// Thread safety: `push` only from the one worker that owns the ring, `drain` only from
/// the control thread. Head and tail are published with release stores and read with
/// acquire loads, so an entry's contents are visible before its index is.
public final class EventRing: @unchecked Sendable {
  public struct Event: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
      /// `key` = bridge domain << 48 | source MAC; `value` = generation of the snapshot the
      /// worker used (interface and bridge-domain numbers are only meaningful within it).
      case macSeen
      /// `key` = IPv4 address, `value` = its MAC (an ARP packet received on `interface`).
      case neighbor
      /// `key` = IPv4 address, `value` = its MAC: ARP heard on the uplink (external network).
      case externalNeighbor
    }
    public var kind: Kind
    public var interface: UInt16
    public var key: UInt64
    public var value: UInt64
    @inlinable public init(kind: Kind, key: UInt64, value: UInt64, interface: UInt16) {
      self.kind = kind
      self.key = key
      self.value = value
      self.interface = interface
    }
    /// A MAC-learning event.
    @inlinable public static func macSeen(key: UInt64, interface: UInt16, generation: UInt64) -> Event {
      Event(kind: .macSeen, key: key, value: generation, interface: interface)
    }
  }
  @usableFromInline let slots: UnsafeMutablePointer<Event>
  @usableFromInline let mask: Int
  @usableFromInline let head = Atomic<Int>(0)   // next to write (producer)
  @usableFromInline let tail = Atomic<Int>(0)   // next to read (consumer)
  public let overflows = Atomic<UInt64>(0)

  /// `capacity` is rounded up to a power of two.
  public init(capacity: Int = 4096) {
    var c = 16
    while c < capacity { c <<= 1 }
    slots = .allocate(capacity: c)
    mask = c - 1
  }
  deinit { slots.deallocate() }

  /// Worker side. Returns false when the ring is full.
  @inlinable @inline(__always) @discardableResult
  public func push(_ e: Event) -> Bool {
    let h = head.load(ordering: .relaxed)
    if h &- tail.load(ordering: .acquiring) > mask {
      overflows.store(overflows.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
      return false
    }
    slots[h & mask] = e
    head.store(h &+ 1, ordering: .releasing)
    return true
  }

  /// Control side: every event pushed so far, oldest first.
  public func drain() -> [Event] {
    let t = tail.load(ordering: .relaxed), h = head.load(ordering: .acquiring)
    var out: [Event] = []
    out.reserveCapacity(h - t)
    for i in t..<h { out.append(slots[i & mask]) }
    tail.store(h, ordering: .releasing)
    return out
  }
}
