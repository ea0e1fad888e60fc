#if canImport(Glibc)
import Glibc
#endif
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
  @usableFromInline static let level1Bytes = (1 << 16) * MemoryLayout<UInt32>.stride
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
    self = Builder(routes).finish()
  }

  @usableFromInline
  init(level1: UnsafeMutablePointer<UInt32>, groups: [UInt32], routeCount: Int) {
    self.level1 = level1
    self.groups = .allocate(capacity: max(groups.count, 1))
    self.groups.initialize(from: groups, count: groups.count)
    self.groupCount = groups.count >> 8
    self.routeCount = routeCount
  }

  /// A table under construction (control thread): painted from a route list, then
  /// refined with host routes (`setHost`) that may depend on lookups in the table itself
  /// (ip4-lookup's adjacencies and receive entries), then `finish`ed into an `LPM4`.
  ///
  /// Level 1 is an anonymous mapping of zero pages: a table that routes little touches few of its 64 pages
  /// (the kernel maps the untouched ones to the zero page), so a node with a thousand
  /// route tables builds them in microseconds each and does not hold 256 KiB of resident
  /// memory per table. A builder must end in `finish` (it owns level 1 until then).
  public struct Builder: ~Copyable {
    private let level1: UnsafeMutablePointer<UInt32>
    private var groups: [UInt32] = []
    private var routeCount: Int

    public init(_ routes: [Route]) {
      // An anonymous mapping of its own, not calloc: glibc's dynamic mmap threshold would
      // soon serve 256 KiB from the heap, which calloc must clear page by page.
      let raw = mmap(nil, LPM4.level1Bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
      guard let raw, raw != MAP_FAILED else { fatalError("LPM4: out of memory for level 1") }
      level1 = raw.bindMemory(to: UInt32.self, capacity: 1 << 16)
      routeCount = routes.count
      var sorted = routes
      if !routes.indices.dropFirst().allSatisfy({ routes[$0 - 1].length <= routes[$0].length }) {
        sorted = routes.enumerated().sorted { ($0.element.length, $0.offset) < ($1.element.length, $1.offset) }.map(\.element)
      }
      for r in sorted { paint(r) }
    }

    private mutating func newGroup(filledWith v: UInt32) -> UInt32 {
      let index = UInt32(groups.count >> 8)
      groups.append(contentsOf: repeatElement(v, count: 256))
      return index
    }

    /// Paints `r` over what is there (routes must come in order of increasing length).
    private mutating func paint(_ r: Route) {
      precondition((0...32).contains(r.length) && (0..<maxNextHops).contains(r.nextHop))
      let mask: UInt32 = r.length == 0 ? 0 : ~0 << (32 - UInt32(r.length))
      let p = r.prefix.value & mask
      let value = UInt32(r.nextHop + 1)
      if r.length <= 16 {
        let start = Int(p >> 16), n = 1 << (16 - r.length)
        (level1 + start).update(repeating: value, count: n)
        return
      }
      let i1 = Int(p >> 16)
      if level1[i1] & extended == 0 { level1[i1] = extended | newGroup(filledWith: level1[i1]) }
      let base2 = Int(level1[i1] & ~extended) << 8
      if r.length <= 24 {
        let start = Int((p >> 8) & 0xff), n = 1 << (24 - r.length)
        for j in start..<(start + n) { groups[base2 + j] = value }
        return
      }
      let i2 = base2 + Int((p >> 8) & 0xff)
      if groups[i2] & extended == 0 { groups[i2] = extended | newGroup(filledWith: groups[i2]) }
      let base3 = Int(groups[i2] & ~extended) << 8
      let start = Int(p & 0xff), n = 1 << (32 - r.length)
      for k in start..<(start + n) { groups[base3 + k] = value }
    }

    /// The next hop the table so far gives `address`, or -1.
    public func lookup(_ address: UInt32) -> Int {
      var e = level1[Int(address >> 16)]
      if e & extended != 0 {
        e = groups[Int(e & ~extended) << 8 | Int((address >> 8) & 0xff)]
        if e & extended != 0 { e = groups[Int(e & ~extended) << 8 | Int(address & 0xff)] }
      }
      return Int(e) &- 1
    }

    /// Routes `address`/32 to `nextHop`, replacing any /32 there (a host route is the
    /// longest prefix, so painting it last is exact).
    public mutating func setHost(_ address: UInt32, nextHop: Int) {
      routeCount += 1
      paint(Route(prefix: IPv4Address(address), length: 32, nextHop: nextHop))
    }

    /// The finished table; the builder is consumed.
    public consuming func finish() -> LPM4 {
      LPM4(level1: level1, groups: groups, routeCount: routeCount)
    }
  }

  /// An empty table (no route).
  public static func empty() -> LPM4 { LPM4([]) }

  /// Frees the table; only after every reader has moved on (QSBR grace period).
  public func destroy() {
    munmap(level1, Self.level1Bytes)
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
