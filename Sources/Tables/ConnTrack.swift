import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The connection table of security groups and lists: one entry per connection of a
/// filtered port, for both directions, shared by every worker.
///
/// Key: the port's zone (so two ports, or two tenants, with the same 5-tuple never share
/// an entry), the protocol, and the VM's and the remote side's address and port (ICMP echo:
/// the identifier as both ports). A packet the VM sends and one delivered to it compute the
/// same key, so both directions find the entry whichever worker handles them.
///
///     key0 = VM address << 32 | remote address
///     key1 = present (bit 63) | zone << 40 | protocol << 32 | VM port << 16 | remote port
///     state = last seen (seconds, bits 0…31) | TCP state (32…39) | flags (40…47: 1 reply seen,
///             2 opened by the VM) | rule (48…63, low bits of the admitting rule)
///
/// Lock-free: buckets of `ways` slots, two candidate buckets per key (from independent hash
/// bits): an entry goes to its first bucket when it has room, else to its second, and a
/// lookup tries them in that order — so a table refuses connections only when both are full
/// (with 8-way buckets, a handful in a million at 75 % load instead of ~1 % at 50 % with
/// one). A worker claims an empty slot by a compare-and-swap of `key1` from 0 to
/// `reserved`, writes `key0` and `state`, then publishes `key1` with a releasing store;
/// readers load `key1` acquiring before `key0`. States change by compare-and-swap. Two full
/// buckets refuse a new connection (counted by the caller as `ct-table-full`); existing
/// entries are never displaced. The control thread expires
/// idle entries (a compare-and-swap of `key1` back to 0) and removes those that rules no
/// longer admit.
@frozen
public struct ConnTrack: @unchecked Sendable {
  public static let ways = 8
  public static let present: UInt64 = 1 << 63
  @usableFromInline static let reserved: UInt64 = 1
  public let capacity: Int
  @usableFromInline let mask: Int
  /// Slot i's words at `i << 2`: key1, key0, state and one unused, so that a connection
  /// found in its bucket's first slot (the common case below full load) costs one cache
  /// line, not one per array. `key0` is atomic only to share the array (relaxed: a plain
  /// load and store).
  @usableFromInline let words: UnsafeMutablePointer<Atomic<UInt64>>
  @usableFromInline static let stride = 4
  @usableFromInline var key1: UnsafeMutablePointer<Atomic<UInt64>> { words }
  @usableFromInline var key0: UnsafeMutablePointer<Atomic<UInt64>> { words + 1 }
  @usableFromInline var state: UnsafeMutablePointer<Atomic<UInt64>> { words + 2 }
  /// 0 live, 1 created, 2 expired, 3 table full, 4 removed by rule changes (any reader).
  public let stats: UnsafeMutablePointer<Atomic<UInt64>>
  public enum Stat: Int, CaseIterable { case live, created, expired, tableFull, revoked }

  /// Flags in `state`.
  public static let replySeen: UInt64 = 1 << 40
  public static let openedByVM: UInt64 = 1 << 41

  /// `capacity` rounded up to a power of two of buckets × `ways`.
  public init(capacity: Int) {
    var buckets = 1
    while buckets * Self.ways < capacity { buckets <<= 1 }
    self.capacity = buckets * Self.ways
    mask = buckets - 1
    // Page-aligned (so a bucket of 8 slots of 32 bytes is four whole cache lines), zeroed
    // (an all-zero Atomic<UInt64> is 0), in huge pages where the kernel allows.
    words = HugeMemory.zeroed(self.capacity * Self.stride, as: Atomic<UInt64>.self)
    stats = .allocate(capacity: Stat.allCases.count)
    for i in 0..<Stat.allCases.count { (stats + i).initialize(to: Atomic(0)) }
  }

  /// A private copy of `other`'s entries, for a dry run that must read the node's
  /// connections and write none of them. Control thread; a connection a worker changes
  /// while it is copied may be copied half old, half new (a dry run shows a moment anyway).
  public init(copying other: ConnTrack) {
    self.init(capacity: other.capacity)
    for i in 0..<capacity {
      key0[i << 2].store(other.key0[i << 2].load(ordering: .relaxed), ordering: .relaxed)
      state[i << 2].store(other.state[i << 2].load(ordering: .relaxed), ordering: .relaxed)
      key1[i << 2].store(other.key1[i << 2].load(ordering: .acquiring), ordering: .relaxed)
    }
  }

  public func destroy() {
    HugeMemory.release(words, count: capacity * Self.stride)
    stats.deinitialize(count: Stat.allCases.count)
    stats.deallocate()
  }

  @inlinable @inline(__always)
  public static func keys(zone: UInt16, proto: UInt8, vmIP: UInt32, vmPort: UInt16, remoteIP: UInt32, remotePort: UInt16) -> (UInt64, UInt64) {
    (UInt64(vmIP) << 32 | UInt64(remoteIP),
     present | UInt64(zone) << 40 | UInt64(proto) << 32 | UInt64(vmPort) << 16 | UInt64(remotePort))
  }

  /// The key's hash; its low bits pick the first bucket, its high bits the second. A
  /// vector's lookups are hashed once, prefetched (`firstSlot`), then made (`find(_:_:hash:)`).
  @inlinable @inline(__always)
  public static func hash(_ k0: UInt64, _ k1: UInt64) -> UInt64 {
    let h = k0 &* 0x9e37_79b9_7f4a_7c15 ^ k1 &* 0xc2b2_ae3d_27d4_eb4f
    return h ^ h >> 29
  }

  /// The first slots of the key's two buckets.
  @inlinable @inline(__always)
  func buckets(_ k0: UInt64, _ k1: UInt64) -> (Int, Int) {
    let h = Self.hash(k0, k1)
    return (Int(truncatingIfNeeded: h) & mask &* Self.ways, Int(truncatingIfNeeded: h >> 40) & mask &* Self.ways)
  }

  /// Where the lookup of a key of hash `h` starts (its first bucket's first slot, which
  /// holds the connection in the common case), to prefetch. Any worker.
  @inlinable @inline(__always)
  public func firstSlot(hash h: UInt64) -> UnsafeRawPointer {
    UnsafeRawPointer(words + ((Int(truncatingIfNeeded: h) & mask &* Self.ways) &<< 2))
  }

  /// The slot of the connection, or -1. Any worker.
  @inlinable @inline(__always)
  public func find(_ k0: UInt64, _ k1: UInt64) -> Int { find(k0, k1, hash: Self.hash(k0, k1)) }

  /// `find` with the key's `hash` computed beforehand.
  @inlinable @inline(__always)
  public func find(_ k0: UInt64, _ k1: UInt64, hash h: UInt64) -> Int {
    let b = Int(truncatingIfNeeded: h) & mask &* Self.ways
    for i in b..<(b &+ Self.ways) where key1[i &<< 2].load(ordering: .acquiring) == k1 && key0[i &<< 2].load(ordering: .relaxed) == k0 { return i }
    return findSecond(k0, k1, h)
  }

  /// The lookup in the second bucket (entries that found the first one full; new
  /// connections), kept out of line so the common hit stays small.
  @inlinable @inline(never)
  func findSecond(_ k0: UInt64, _ k1: UInt64, _ h: UInt64) -> Int {
    let c = Int(truncatingIfNeeded: h >> 40) & mask &* Self.ways
    for i in c..<(c &+ Self.ways) where key1[i &<< 2].load(ordering: .acquiring) == k1 && key0[i &<< 2].load(ordering: .relaxed) == k0 { return i }
    return -1
  }

  /// Creates the connection with `initial` state; returns its slot, or -1 when both its
  /// buckets are full. Any worker.
  @inlinable
  public func insert(_ k0: UInt64, _ k1: UInt64, initial: UInt64) -> Int {
    let (b, c) = buckets(k0, k1)
    let slot = claim(b, k0, k1, initial)
    if slot >= 0 { return slot }
    if c != b {
      let second = claim(c, k0, k1, initial)
      if second >= 0 { return second }
    }
    stats[Stat.tableFull.rawValue].add(1, ordering: .relaxed)
    return -1
  }

  /// Claims an empty slot of the bucket starting at `b` for the key; -1 when it is full.
  @inlinable @inline(__always)
  func claim(_ b: Int, _ k0: UInt64, _ k1: UInt64, _ initial: UInt64) -> Int {
    for i in b..<(b &+ Self.ways) where key1[i &<< 2].load(ordering: .relaxed) == 0 {
      guard key1[i &<< 2].compareExchange(expected: 0, desired: Self.reserved, ordering: .acquiring).exchanged else { continue }
      key0[i &<< 2].store(k0, ordering: .relaxed)
      state[i &<< 2].store(initial, ordering: .relaxed)
      key1[i &<< 2].store(k1, ordering: .releasing)
      stats[Stat.created.rawValue].add(1, ordering: .relaxed)
      stats[Stat.live.rawValue].add(1, ordering: .relaxed)
      return i
    }
    return -1
  }

  @inlinable @inline(__always)
  public func loadState(_ slot: Int) -> UInt64 { state[slot &<< 2].load(ordering: .relaxed) }

  /// Replaces the state of `slot` if it is still `old`; false when another worker changed it.
  @inlinable @inline(__always)
  public func updateState(_ slot: Int, from old: UInt64, to new: UInt64) -> Bool {
    old == new || state[slot &<< 2].compareExchange(expected: old, desired: new, ordering: .relaxed).exchanged
  }

  // MARK: - control thread

  /// One live entry, as `show conntrack` reads it.
  public struct Entry: Sendable, Equatable {
    public var slot: Int
    public var zone: UInt16
    public var proto: UInt8
    public var vmIP: UInt32
    public var vmPort: UInt16
    public var remoteIP: UInt32
    public var remotePort: UInt16
    public var state: UInt64
    public var tcpState: UInt8 { UInt8(truncatingIfNeeded: state >> 32) }
    public var lastSeen: UInt32 { UInt32(truncatingIfNeeded: state) }
  }

  /// The entry in `slot`, if any. Any thread (a racing removal may make it stale).
  public func entry(_ slot: Int) -> Entry? {
    let k1 = key1[slot << 2].load(ordering: .acquiring)
    guard k1 & Self.present != 0 else { return nil }
    let k0 = key0[slot << 2].load(ordering: .relaxed)
    return Entry(slot: slot, zone: UInt16(truncatingIfNeeded: k1 >> 40 & 0x7fff), proto: UInt8(truncatingIfNeeded: k1 >> 32),
                 vmIP: UInt32(truncatingIfNeeded: k0 >> 32), vmPort: UInt16(truncatingIfNeeded: k1 >> 16),
                 remoteIP: UInt32(truncatingIfNeeded: k0), remotePort: UInt16(truncatingIfNeeded: k1),
                 state: state[slot << 2].load(ordering: .relaxed))
  }

  /// Removes the entry in `slot` if it still holds `entry`'s key. Control thread.
  @discardableResult
  public func remove(_ e: Entry, as stat: Stat) -> Bool {
    let k1 = Self.present | UInt64(e.zone) << 40 | UInt64(e.proto) << 32 | UInt64(e.vmPort) << 16 | UInt64(e.remotePort)
    guard key1[e.slot << 2].compareExchange(expected: k1, desired: 0, ordering: .acquiringAndReleasing).exchanged else { return false }
    stats[Stat.live.rawValue].subtract(1, ordering: .relaxed)
    stats[stat.rawValue].add(1, ordering: .relaxed)
    return true
  }

  public func stat(_ s: Stat) -> UInt64 { stats[s.rawValue].load(ordering: .relaxed) }
}

/// Defaults shared by gannetd's config and gannet-bench.
public enum DaemonDefaults {
  /// `conntrack.max_connections`.
  public static let maxConnections = 1 << 18
}
