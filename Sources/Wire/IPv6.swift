/// A read-only view of an IPv6 fixed header (RFC 8200 §3), for classification only:
///
///     0       4         12                    32
///     +-------+---------+---------------------+
///     |version| traffic | flow label          |
///     | payload length  | next hdr | hop limit|
///     |       source address (16 bytes)       |
///     |    destination address (16 bytes)     |
///     +---------------------------------------+
///
/// `init(validating:length:)` guarantees version 6 and 40 + payloadLength ≤ length.
@frozen
public struct IPv6Header {
  public static let length = 40
  public let base: UnsafeMutableRawPointer
  @inlinable
  public init(validating base: UnsafeMutableRawPointer, length: Int) throws(DropReason) {
    guard length >= Self.length else { throw .ip6TooShort }
    self.base = base
    guard version == 6 else { throw .ip6BadVersion }
    guard Self.length &+ Int(payloadLength) <= length else { throw .ip6BadPayloadLength }
  }
  @inlinable public var version: UInt8 { base.loadU8(at: 0) >> 4 }
  @inlinable public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: base.loadBE16(at: 0) >> 4) }
  @inlinable public var flowLabel: UInt32 { base.loadBE32(at: 0) & 0x000f_ffff }
  @inlinable public var payloadLength: UInt16 { base.loadBE16(at: 4) }
  @inlinable public var nextHeader: UInt8 { base.loadU8(at: 6) }
  @inlinable public var hopLimit: UInt8 { base.loadU8(at: 7) }
  @inlinable func address(at o: Int) -> IPv6Address {
    let hi = UInt64(base.loadBE32(at: o)) << 32 | UInt64(base.loadBE32(at: o &+ 4))
    let lo = UInt64(base.loadBE32(at: o &+ 8)) << 32 | UInt64(base.loadBE32(at: o &+ 12))
    return IPv6Address(high: hi, low: lo)
  }
  @inlinable public var source: IPv6Address { address(at: 8) }
  @inlinable public var destination: IPv6Address { address(at: 24) }
  @inlinable public var payload: UnsafeMutableRawPointer { base + Self.length }
}
