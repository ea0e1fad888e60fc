import Compiler

/// What each index of a stable numbering had counted when it was last given to its key, so
/// that the counters shown for an object start from zero even when it reuses the index of
/// a deleted one (a tunnel, a security rule, a filtered port's interface). Workers count by
/// index and never reset; the control thread subtracts. Control thread only.
struct CounterBaselines {
  private var values: [Int: [UInt64]] = [:]

  /// After a publish: remembers `read(i)` for every index given out at `generation`, and
  /// forgets the indices no key holds any more.
  mutating func adopt<Key>(_ indices: StableIndices<Key>, generation: UInt64, read: (Int) -> [UInt64]) {
    for (i, since) in indices.since where since == generation { values[i] = read(i) }
    values = values.filter { indices.since[$0.key] != nil }
  }

  /// `current` (what index `i` counts now) minus what it had when it was given out.
  func since(_ i: Int, _ current: [UInt64]) -> [UInt64] {
    guard let base = values[i] else { return current }
    return zip(current, base).map { $0 &- $1 }
  }
}
