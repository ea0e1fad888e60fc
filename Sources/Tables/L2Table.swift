import Wire

/// An immutable (bridge domain, MAC) → value map for L2 forwarding, built by the control
/// thread and read by workers without locks. A bridge domain is the dense index (≥ 1)
/// the control plane gives each tenant network, so tenants with the same MACs never
/// share an entry. Stored in an `ExactTable` under the key
///
///     63            48 47                                 0
///     +---------------+------------------------------------+
///     | domain (16)   | MAC (48)                           |      domain 0 is reserved
///     +---------------+------------------------------------+
///
/// Thread safety: immutable after `init`; any number of threads may call `lookup`.
/// Publish new versions through `RCUBox` and `destroy` old ones after a grace period.
@frozen
public struct L2Table: @unchecked Sendable {
  public let table: ExactTable

  @inlinable @inline(__always)
  public static func key(domain: UInt16, mac: MACAddress) -> UInt64 { UInt64(domain) << 48 | mac.rawValue }

  /// Builds the table; a later duplicate key replaces an earlier one. Domain 0 is
  /// reserved (it would make the all-zero key) and such entries are ignored.
  public init(_ entries: [(domain: UInt16, mac: MACAddress, value: UInt32)]) {
    table = ExactTable(entries.filter { $0.domain != 0 }.map { (Self.key(domain: $0.domain, mac: $0.mac), UInt64($0.value)) })
  }

  public var count: Int { table.count }

  /// Frees the slots; only after every reader has moved on (QSBR grace period).
  public func destroy() { table.destroy() }

  /// The value for (`domain`, `mac`), or nil.
  @inlinable @inline(__always)
  public func lookup(domain: UInt16, mac: MACAddress) -> UInt32? {
    table.lookup(Self.key(domain: domain, mac: mac)).map { UInt32(truncatingIfNeeded: $0) }
  }

  /// The slot of (`domain`, `mac`), or -1; `value(atSlot:)` reads it. l2-forward uses the
  /// slot to count each entry's hits.
  @inlinable @inline(__always)
  public func slot(domain: UInt16, mac: MACAddress) -> Int { table.slot(of: Self.key(domain: domain, mac: mac)) }

  @inlinable @inline(__always)
  public func value(atSlot i: Int) -> UInt32 { UInt32(truncatingIfNeeded: table.value(atSlot: i)) }

  /// Every entry, sorted, for `show` commands and tests. Control thread.
  public var entries: [(domain: UInt16, mac: MACAddress, value: UInt32)] {
    table.entries.map { (UInt16(truncatingIfNeeded: $0.key >> 48), MACAddress(rawValue: $0.key), UInt32(truncatingIfNeeded: $0.value)) }
      .sorted { ($0.domain, $0.mac.rawValue) < ($1.domain, $1.mac.rawValue) }
  }
}
