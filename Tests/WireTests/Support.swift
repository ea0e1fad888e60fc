import TestSupport
import Wire

/// Runs `body` over a mutable copy of `bytes`, handing it the base pointer and the length.
func withFrame<R>(_ bytes: [UInt8], _ body: (UnsafeMutableRawPointer, Int) throws -> R) rethrows -> R {
  var copy = bytes
  return try copy.withUnsafeMutableBytes { try body($0.baseAddress!, $0.count) }
}

/// A named malformed input and the reason it must be dropped with.
struct Malformed: Sendable, CustomStringConvertible {
  let name: String
  let bytes: [UInt8]
  let reason: DropReason
  var description: String { name }
}
