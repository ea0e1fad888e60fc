import Wire

/// An immutable MAC → port map for L2 forwarding, built by the control thread and read
/// by workers without locks.
///
/// Open addressing, linear probing, load factor ≤ 50 %. Each slot is one UInt64:
///
///     63                              16 15            0
///     +---------------------------------+--------------+
///     |          MAC (48 bits)          |  port (16)   |      0 = empty slot
///     +---------------------------------+--------------+
///
/// so a lookup is one multiply, one shift and usually one 8-byte load (eight slots per
/// cache line). The all-zero MAC is not a valid key (it is never a unicast destination).
///
/// Thread safety: immutable after `init`; any number of threads may call `lookup`.
/// Publish new versions through `RCUBox` and free old ones after a grace period.
@frozen
public struct MACTable: @unchecked Sendable {
  @usableFromInline let slots: UnsafeMutablePointer<UInt64>
  @usableFromInline let mask: Int
  @usableFromInline let shift: UInt64
  public let count: Int

  /// Builds the table. Throws nothing; entries with a zero MAC are ignored, and a later
  /// duplicate of a MAC replaces the earlier one.
  public init(_ entries: [(MACAddress, UInt16)]) {
    var bits = 4
    while (1 << bits) < max(entries.count * 2, 16) { bits += 1 }
    let size = 1 << bits
    slots = .allocate(capacity: size)
    slots.initialize(repeating: 0, count: size)
    mask = size - 1
    shift = UInt64(64 - bits)
    var n = 0
    for (mac, port) in entries where mac.rawValue != 0 {
      var i = Self.hash(mac.rawValue, shift)
      while true {
        let s = slots[i]
        if s == 0 { slots[i] = mac.rawValue << 16 | UInt64(port); n += 1; break }
        if s >> 16 == mac.rawValue { slots[i] = mac.rawValue << 16 | UInt64(port); break }
        i = (i + 1) & (size - 1)
      }
    }
    count = n
  }

  /// Frees the slots; only after every reader has moved on (QSBR grace period).
  public func destroy() { slots.deallocate() }

  @inlinable @inline(__always)
  static func hash(_ key: UInt64, _ shift: UInt64) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9e37_79b9_7f4a_7c15) >> shift)
  }

  /// The port for `mac`, or nil.
  @inlinable @inline(__always)
  public func lookup(_ mac: MACAddress) -> UInt16? {
    let key = mac.rawValue
    var i = Self.hash(key, shift)
    while true {
      let s = slots[i]
      if s >> 16 == key && s != 0 { return UInt16(truncatingIfNeeded: s) }
      if s == 0 { return nil }
      i = (i &+ 1) & mask
    }
  }

  /// Every entry, for `show` commands and tests. Control thread.
  public var entries: [(MACAddress, UInt16)] {
    (0...mask).compactMap { i in
      let s = slots[i]
      return s == 0 ? nil : (MACAddress(rawValue: s >> 16), UInt16(truncatingIfNeeded: s))
    }.sorted { $0.0 < $1.0 }
  }
}
