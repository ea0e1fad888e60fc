/// A read/write view of a VXLAN header (RFC 7348 §5):
///
///     0        1                 4                        7        8
///     +--------+-----------------+------------------------+--------+
///     |R R R R I R R R| reserved |          VNI           |reserved|
///     +--------+-----------------+------------------------+--------+
///
/// `init(validating:length:)` guarantees 8 bytes and the I flag set; the reserved bits
/// are ignored on receipt as §5 requires.
@frozen
public struct VXLANHeader {
  public static let length = 8
  public static let udpPort: UInt16 = 4789
  /// Outer Ethernet + IPv4 + UDP + VXLAN: what encapsulation adds to an inner frame.
  public static let overhead = 14 + 20 + 8 + 8
  public static let flagI: UInt8 = 0x08

  public let base: UnsafeMutableRawPointer
  @inlinable public init(unchecked base: UnsafeMutableRawPointer) { self.base = base }
  @inlinable
  public init(validating base: UnsafeMutableRawPointer, length: Int) throws(DropReason) {
    guard length >= Self.length else { throw .vxlanTooShort }
    self.base = base
    guard flags & Self.flagI != 0 else { throw .vxlanBadFlags }
  }

  @inlinable public var flags: UInt8 {
    get { base.loadU8(at: 0) }
    nonmutating set { base.storeU8(newValue, at: 0) }
  }
  /// The 24-bit VXLAN network identifier.
  @inlinable public var vni: UInt32 {
    get { base.loadBE32(at: 4) >> 8 }
    nonmutating set { base.storeBE32((newValue & 0xff_ffff) << 8, at: 4) }
  }
  /// Writes a fresh header: I flag, zero reserved fields, `vni`.
  @inlinable public func fill(vni: UInt32) {
    base.storeBE32(UInt32(Self.flagI) << 24, at: 0)
    self.vni = vni
  }
  @inlinable public var payload: UnsafeMutableRawPointer { base + Self.length }
}
