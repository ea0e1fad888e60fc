import Wire

/// The compiled allow-rules of one (port policy, direction, statefulness, protocol class),
/// and the lookup that answers "which rule, if any, admits this packet?" in logarithmic
/// time, whatever the number of rules.
///
/// Rules are allow-only and unordered (security groups and lists: any match admits), so the
/// answer depends only on the set of rules covering the packet. The remote address space is
/// cut into elementary intervals at every rule's CIDR boundaries; each interval holds the
/// union of its covering rules' key ranges as sorted, disjoint intervals, each tagged with
/// the lowest-numbered rule covering it (for hit counters). A lookup is two binary searches:
/// the address interval, then the key interval. The key is the destination port (TCP, UDP),
/// `type << 8 | code` (ICMP) or the protocol number (any other protocol).
///
/// Layout in a `UInt32` arena (`ACLArena`), at a table's offset `t`:
///
///     t: n | starts[n] (ascending, starts[0] = 0) | sets[n] (offset of a key-interval set, 0: none)
///     set s: m | (lo, hi, rule) × m  (ascending, disjoint)
///
/// Thread safety: immutable once built; any thread may look up. Built by the control
/// thread (the compiler), freed with its snapshot.
public enum ACLClassifier {
  /// One rule as the classifier sees it: a remote address range and a key range.
  public struct Rule: Sendable, Equatable {
    public var addressLow: UInt32
    public var addressHigh: UInt32
    public var keyLow: UInt32
    public var keyHigh: UInt32
    /// Global rule number (hit counters, `show`), below `UInt32.max`.
    public var rule: UInt32
    public init(addressLow: UInt32, addressHigh: UInt32, keyLow: UInt32, keyHigh: UInt32, rule: UInt32) {
      self.addressLow = addressLow
      self.addressHigh = addressHigh
      self.keyLow = keyLow
      self.keyHigh = keyHigh
      self.rule = rule
    }
  }

  /// Appends the table of `rules` to `arena` and returns its offset (0 for no rules: nothing
  /// matches). Cost: sorting the boundaries, then per elementary address interval the rules
  /// active there (a sweep), so O(n log n + intervals × active).
  public static func build(_ rules: [Rule], into arena: inout [UInt32]) -> UInt32 {
    guard !rules.isEmpty else { return 0 }
    if arena.isEmpty { arena.append(0) }     // offset 0 means "no table"
    // Address boundaries: every rule's low and high + 1 (as UInt64: high may be the last address).
    var cuts = Set<UInt64>([0])
    for r in rules {
      cuts.insert(UInt64(r.addressLow))
      cuts.insert(UInt64(r.addressHigh) + 1)
    }
    let starts = cuts.filter { $0 <= UInt64(UInt32.max) }.sorted()
    // Sweep: rules sorted by low address enter, leave after their high address.
    let byLow = rules.sorted { $0.addressLow < $1.addressLow }
    var next = 0
    var active: [Rule] = []
    var sets: [UInt32] = []
    var setCache: [[UInt32]: UInt32] = [:]
    var body: [UInt32] = []       // key-interval sets, appended after the table's two arrays
    let tableSize = 1 + 2 * starts.count
    let base = UInt32(arena.count)
    for s in starts {
      let s32 = UInt32(s)
      active.removeAll { $0.addressHigh < s32 }
      while next < byLow.count && byLow[next].addressLow <= s32 {
        if byLow[next].addressHigh >= s32 { active.append(byLow[next]) }
        next += 1
      }
      let set = keyIntervals(active)
      if set.isEmpty {
        sets.append(0)
      } else if let at = setCache[set] {
        sets.append(at)
      } else {
        let at = base + UInt32(tableSize + body.count)
        body.append(UInt32(set.count / 3))
        body += set
        setCache[set] = at
        sets.append(at)
      }
    }
    arena.append(UInt32(starts.count))
    arena += starts.map { UInt32($0) }
    arena += sets
    arena += body
    return base
  }

  /// The union of the rules' key ranges as disjoint (lo, hi, rule) triples, each interval
  /// tagged with the lowest rule number covering it; adjacent intervals of the same rule merge.
  static func keyIntervals(_ rules: [Rule]) -> [UInt32] {
    guard !rules.isEmpty else { return [] }
    var cuts = Set<UInt64>()
    for r in rules {
      cuts.insert(UInt64(r.keyLow))
      cuts.insert(UInt64(r.keyHigh) + 1)
    }
    let points = cuts.sorted()
    var out: [UInt32] = []
    for (i, lo) in points.enumerated() where i + 1 < points.count {
      let hi = points[i + 1] - 1
      var best = UInt32.max
      for r in rules where UInt64(r.keyLow) <= lo && UInt64(r.keyHigh) >= hi { best = min(best, r.rule) }
      guard best != .max else { continue }
      if out.count >= 3, out[out.count - 1] == best, UInt64(out[out.count - 2]) + 1 == lo {
        out[out.count - 2] = UInt32(hi)
      } else {
        out += [UInt32(lo), UInt32(hi), best]
      }
    }
    return out
  }

  /// The rule admitting (address, key) in the table at `table`, or nil.
  @inlinable
  public static func lookup(_ arena: UnsafePointer<UInt32>, table: UInt32, address: UInt32, key: UInt32) -> UInt32? {
    guard table != 0 else { return nil }
    let t = arena + Int(table)
    let n = Int(t[0])
    let starts = t + 1
    // The last start ≤ address (starts[0] = 0, so there is one).
    var lo = 0, hi = n - 1
    while lo < hi {
      let mid = (lo &+ hi &+ 1) >> 1
      if starts[mid] <= address { lo = mid } else { hi = mid &- 1 }
    }
    let set = t[1 &+ n &+ lo]
    guard set != 0 else { return nil }
    let s = arena + Int(set)
    let m = Int(s[0])
    var a = 0, b = m - 1
    while a <= b {
      let mid = (a &+ b) >> 1
      let k = s + 1 + 3 &* mid
      if key < k[0] { b = mid &- 1 } else if key > k[1] { a = mid &+ 1 } else { return k[2] }
    }
    return nil
  }
}
