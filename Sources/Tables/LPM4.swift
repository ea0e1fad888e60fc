import Wire

/// IPv4 longest-prefix match for one routing domain (VRF): a DIR-16-8-8 multibit trie,
/// the DIR-24-8 scheme of Gupta, Lin and McKeown (and DPDK's rte_lpm) with a 16-bit first
/// stride, so that an empty VRF costs 256 KiB rather than 64 MiB (a node has one table per
/// tenant router) while a lookup stays at most three dependent loads:
///
///     address  ── bits 31…16 ──→ level 1 (65,536 entries)
///                                  │ extended? → group g: bits 15…8 → level 2 (256 entries)
///                                  │                       │ extended? → group h: bits 7…0 → level 3
///
///     entry (UInt32):  bit 31 extended | bits 30…0: group index, or next-hop index + 1 (0 = no route)
///
/// Built from a list of routes by "prefix painting" in order of increasing length, so a
/// longer prefix always overwrites a shorter one where they overlap. Groups are allocated
/// only under level-1 or level-2 entries that some prefix longer than 16 or 24 bits needs:
/// 1M random prefixes of mixed length fit in tens of MiB.
///
/// Updates: the control thread builds a new table and publishes it with RCU (the old one is
/// destroyed after a grace period), so workers never block and never see a half-built table.
///
/// Thread safety: immutable after `init`; any number of threads may look up.
@frozen
public struct LPM4: @unchecked Sendable {
  public static let extended: UInt32 = 1 << 31
  public static let maxNextHops = Int(extended) - 2
  @usableFromInline let level1: UnsafeMutablePointer<UInt32>
  /// Level-2 and level-3 groups, 256 entries each, in one array.
  @usableFromInline let groups: UnsafeMutablePointer<UInt32>
  public let groupCount: Int
  public let routeCount: Int

  /// One route: `prefix/length` → `nextHop` (an index the caller defines, < `maxNextHops`).
  public struct Route: Sendable, Equatable {
    public var prefix: IPv4Address
    public var length: Int
    public var nextHop: Int
    public init(prefix: IPv4Address, length: Int, nextHop: Int) {
      self.prefix = prefix
      self.length = length
      self.nextHop = nextHop
    }
  }

  /// Builds the table. Host bits of a prefix are ignored; for equal prefixes the later
  /// route wins. Lengths must be 0…32 and next hops 0..<`maxNextHops` (precondition:
  /// the control plane validated them).
  public init(_ routes: [Route]) {
    var l1 = [UInt32](repeating: 0, count: 1 << 16)
    var g: [UInt32] = []
    let sorted = routes.enumerated().sorted { ($0.element.length, $0.offset) < ($1.element.length, $1.offset) }.map(\.element)
    func newGroup(filledWith v: UInt32) -> UInt32 {
      let index = UInt32(g.count >> 8)
      g.append(contentsOf: repeatElement(v, count: 256))
      return index
    }
    for r in sorted {
      precondition((0...32).contains(r.length) && (0..<Self.maxNextHops).contains(r.nextHop))
      let mask: UInt32 = r.length == 0 ? 0 : ~0 << (32 - UInt32(r.length))
      let p = r.prefix.value & mask
      let value = UInt32(r.nextHop + 1)
      if r.length <= 16 {
        let start = Int(p >> 16), n = 1 << (16 - r.length)
        for i in start..<(start + n) { l1[i] = value }
        continue
      }
      let i1 = Int(p >> 16)
      if l1[i1] & Self.extended == 0 { l1[i1] = Self.extended | newGroup(filledWith: l1[i1]) }
      let base2 = Int(l1[i1] & ~Self.extended) << 8
      if r.length <= 24 {
        let start = Int((p >> 8) & 0xff), n = 1 << (24 - r.length)
        for j in start..<(start + n) { g[base2 + j] = value }
        continue
      }
      let i2 = base2 + Int((p >> 8) & 0xff)
      if g[i2] & Self.extended == 0 { g[i2] = Self.extended | newGroup(filledWith: g[i2]) }
      let base3 = Int(g[i2] & ~Self.extended) << 8
      let start = Int(p & 0xff), n = 1 << (32 - r.length)
      for k in start..<(start + n) { g[base3 + k] = value }
    }
    level1 = .allocate(capacity: 1 << 16)
    level1.initialize(from: l1, count: l1.count)
    groups = .allocate(capacity: max(g.count, 1))
    groups.initialize(from: g, count: g.count)
    groupCount = g.count >> 8
    routeCount = routes.count
  }

  /// An empty table (no route).
  public static func empty() -> LPM4 { LPM4([]) }

  /// Frees the table; only after every reader has moved on (QSBR grace period).
  public func destroy() {
    level1.deallocate()
    groups.deallocate()
  }

  /// Bytes of memory the table uses.
  public var bytes: Int { (1 << 16) * 4 + groupCount * 256 * 4 }

  /// The next hop of the longest prefix that contains `address`, or -1. Any thread.
  @inlinable @inline(__always)
  public func lookup(_ address: UInt32) -> Int {
    var e = level1[Int(address >> 16)]
    if e & Self.extended != 0 {
      e = groups[Int(e & ~Self.extended) << 8 | Int((address >> 8) & 0xff)]
      if e & Self.extended != 0 {
        e = groups[Int(e & ~Self.extended) << 8 | Int(address & 0xff)]
      }
    }
    return Int(e) &- 1
  }

  /// Looks up `count` addresses at once, level by level, so that the independent loads of
  /// different addresses overlap (memory-level parallelism, as rte_lpm_lookup_bulk).
  /// `out[i]` is the next hop of `addresses[i]`, or -1. `count` ≤ 256.
  @inlinable
  public func lookup(_ addresses: UnsafePointer<UInt32>, count: Int, into out: UnsafeMutablePointer<Int32>) {
    for i in 0..<count { out[i] = Int32(bitPattern: level1[Int(addresses[i] >> 16)]) }
    for i in 0..<count where UInt32(bitPattern: out[i]) & Self.extended != 0 {
      let e = UInt32(bitPattern: out[i])
      out[i] = Int32(bitPattern: groups[Int(e & ~Self.extended) << 8 | Int((addresses[i] >> 8) & 0xff)])
    }
    for i in 0..<count {
      var e = UInt32(bitPattern: out[i])
      if e & Self.extended != 0 { e = groups[Int(e & ~Self.extended) << 8 | Int(addresses[i] & 0xff)] }
      out[i] = Int32(bitPattern: e) &- 1
    }
  }
}
