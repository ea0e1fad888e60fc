/// An immutable exact-match map from non-zero 64-bit keys to 64-bit values, built by the
/// control thread and read by workers without locks: the storage under the L2 table, the
/// VXLAN decap table ((source VTEP, VNI) → bridge domain, tunnel) and the ARP responder's
/// (bridge domain, IPv4) → MAC table.
///
/// Open addressing, linear probing, load factor ≤ 50 %, 16-byte slots (four per cache line),
/// Fibonacci hashing of the key. Key 0 marks an empty slot, so callers build keys that are
/// never 0 (a non-zero bridge domain or a tag bit in the top bits).
///
/// Thread safety: immutable after `init`; any number of threads may call `lookup`.
/// Publish new versions through `RCUBox` and `destroy` old ones after a grace period.
@frozen
public struct ExactTable: @unchecked Sendable {
  @usableFromInline struct Slot {
    @usableFromInline var key: UInt64
    @usableFromInline var value: UInt64
  }
  @usableFromInline let slots: UnsafeMutablePointer<Slot>
  @usableFromInline let mask: Int
  @usableFromInline let shift: UInt64
  public let count: Int

  /// Builds the table; a later duplicate key replaces an earlier one; key 0 is ignored.
  public init(_ entries: [(key: UInt64, value: UInt64)]) {
    var bits = 4
    while (1 << bits) < max(entries.count * 2, 16) { bits += 1 }
    let size = 1 << bits
    slots = .allocate(capacity: size)
    slots.initialize(repeating: Slot(key: 0, value: 0), count: size)
    mask = size - 1
    shift = UInt64(64 - bits)
    var n = 0
    for e in entries where e.key != 0 {
      var i = Self.hash(e.key, shift)
      while true {
        if slots[i].key == 0 { slots[i] = Slot(key: e.key, value: e.value); n += 1; break }
        if slots[i].key == e.key { slots[i].value = e.value; break }
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

  /// The value for `key`, or nil. Any thread.
  @inlinable @inline(__always)
  public func lookup(_ key: UInt64) -> UInt64? {
    var i = Self.hash(key, shift)
    while true {
      let s = slots[i]
      if s.key == key { return s.value }
      if s.key == 0 { return nil }
      i = (i &+ 1) & mask
    }
  }

  /// The slot of `key`, or -1: for callers that count hits per entry (`dump-flows`). Any thread.
  @inlinable @inline(__always)
  public func slot(of key: UInt64) -> Int {
    var i = Self.hash(key, shift)
    while true {
      let k = slots[i].key
      if k == key { return i }
      if k == 0 { return -1 }
      i = (i &+ 1) & mask
    }
  }

  /// The value in slot `i` (a slot `slot(of:)` returned). Any thread.
  @inlinable @inline(__always)
  public func value(atSlot i: Int) -> UInt64 { slots[i].value }

  /// Slots (a power of two): the size of an array indexed by slot.
  public var capacity: Int { mask + 1 }

  /// Every (slot, key, value). Control thread, for `dump-flows`.
  public var slotEntries: [(slot: Int, key: UInt64, value: UInt64)] {
    (0...mask).compactMap { i in slots[i].key == 0 ? nil : (i, slots[i].key, slots[i].value) }
  }

  /// Every (key, value), in slot order. Control thread, for `show` and tests.
  public var entries: [(key: UInt64, value: UInt64)] {
    (0...mask).compactMap { i in slots[i].key == 0 ? nil : (slots[i].key, slots[i].value) }
  }
}
