import Wire

/// An immutable (bridge domain, MAC) → value map for L2 forwarding, built by the control
/// thread and read by workers without locks. A bridge domain is the dense index (≥ 1)
/// the control plane gives each tenant network, so tenants with the same MACs never
/// share an entry.
///
/// Open addressing, linear probing, load factor ≤ 50 %, 16-byte slots (four per cache line):
///
///     0                  2                                8              12         16
///     +------------------+--------------------------------+--------------+----------+
///     | domain (16 bits) | MAC (48 bits)                  | value (32)   | (unused) |   key 0 = empty
///     +------------------+--------------------------------+--------------+----------+
///
/// Thread safety: immutable after `init`; any number of threads may call `lookup`.
/// Publish new versions through `RCUBox` and `destroy` old ones after a grace period.
@frozen
public struct L2Table: @unchecked Sendable {
  @usableFromInline struct Slot {
    @usableFromInline var key: UInt64
    @usableFromInline var value: UInt32
    @usableFromInline var unused: UInt32
  }
  @usableFromInline let slots: UnsafeMutablePointer<Slot>
  @usableFromInline let mask: Int
  @usableFromInline let shift: UInt64
  public let count: Int

  @inlinable @inline(__always)
  public static func key(domain: UInt16, mac: MACAddress) -> UInt64 { UInt64(domain) << 48 | mac.rawValue }

  /// Builds the table; a later duplicate key replaces an earlier one. Domain 0 is
  /// reserved (it would make the all-zero key) and such entries are ignored.
  public init(_ entries: [(domain: UInt16, mac: MACAddress, value: UInt32)]) {
    var bits = 4
    while (1 << bits) < max(entries.count * 2, 16) { bits += 1 }
    let size = 1 << bits
    slots = .allocate(capacity: size)
    slots.initialize(repeating: Slot(key: 0, value: 0, unused: 0), count: size)
    mask = size - 1
    shift = UInt64(64 - bits)
    var n = 0
    for e in entries where e.domain != 0 {
      let k = Self.key(domain: e.domain, mac: e.mac)
      var i = Self.hash(k, shift)
      while true {
        if slots[i].key == 0 { slots[i] = Slot(key: k, value: e.value, unused: 0); n += 1; break }
        if slots[i].key == k { slots[i].value = e.value; break }
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

  /// The value for (`domain`, `mac`), or nil.
  @inlinable @inline(__always)
  public func lookup(domain: UInt16, mac: MACAddress) -> UInt32? {
    let k = Self.key(domain: domain, mac: mac)
    var i = Self.hash(k, shift)
    while true {
      let s = slots[i]
      if s.key == k { return s.value }
      if s.key == 0 { return nil }
      i = (i &+ 1) & mask
    }
  }

  /// Every entry, sorted, for `show` commands and tests. Control thread.
  public var entries: [(domain: UInt16, mac: MACAddress, value: UInt32)] {
    (0...mask).compactMap { i -> (domain: UInt16, mac: MACAddress, value: UInt32)? in
      let s = slots[i]
      return s.key == 0 ? nil : (UInt16(truncatingIfNeeded: s.key >> 48), MACAddress(rawValue: s.key), s.value)
    }.sorted { ($0.domain, $0.mac.rawValue) < ($1.domain, $1.mac.rawValue) }
  }
}
