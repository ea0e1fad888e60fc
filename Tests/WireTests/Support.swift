import Wire

/// Runs `body` over a mutable copy of `bytes`, handing it the base pointer and the length.
func withFrame<R>(_ bytes: [UInt8], _ body: (UnsafeMutableRawPointer, Int) throws -> R) rethrows -> R {
  var copy = bytes
  return try copy.withUnsafeMutableBytes { try body($0.baseAddress!, $0.count) }
}

/// A seeded generator so that randomized tests reproduce (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}

/// A named malformed input and the reason it must be dropped with.
struct Malformed: Sendable, CustomStringConvertible {
  let name: String
  let bytes: [UInt8]
  let reason: DropReason
  var description: String { name }
}
