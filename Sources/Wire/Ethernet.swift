/// EtherType values Gannet dispatches on (IEEE 802.3, IANA ieee-802-numbers).
public enum EtherType {
  public static let ipv4: UInt16 = 0x0800
  public static let arp: UInt16 = 0x0806
  public static let vlan: UInt16 = 0x8100      // IEEE 802.1Q C-tag
  public static let qinq: UInt16 = 0x88a8      // IEEE 802.1ad S-tag
  public static let ipv6: UInt16 = 0x86dd
}

/// A read/write view of an Ethernet II header with up to two VLAN tags (IEEE 802.3,
/// 802.1Q, 802.1ad):
///
///     0      6      12          12+4k       14+4k
///     +------+------+-----------+-----------+------------
///     | dst  | src  | [TPID TCI]| EtherType | payload …
///     +------+------+-----------+-----------+------------
///
/// The view owns nothing; it is valid while the packet buffer it points into is owned by
/// the current pipeline stage. `init(validating:length:)` guarantees that `headerLength`
/// bytes are present, so every accessor stays in bounds.
@frozen
public struct EthernetHeader {
  @usableFromInline enum Field {
    @usableFromInline static let destination = 0
    @usableFromInline static let source = 6
    @usableFromInline static let etherType = 12
  }
  public static let minimumLength = 14
  public static let vlanTagLength = 4

  public let base: UnsafeMutableRawPointer
  /// 0, 1 or 2: how many VLAN tags precede the EtherType.
  public let tagCount: Int

  /// Views `base` without checks, assuming no VLAN tag. For building frames in a buffer
  /// the caller has sized itself.
  @inlinable public init(unchecked base: UnsafeMutableRawPointer) { self.base = base; self.tagCount = 0 }

  /// Views untrusted bytes; throws the reason the frame must be dropped.
  /// `length` is the number of bytes from `base` to the end of the frame.
  @inlinable @inline(__always)
  public init(validating base: UnsafeMutableRawPointer, length: Int) throws(DropReason) {
    guard length >= Self.minimumLength else { throw .l2TooShort }
    self.base = base
    var tags = 0
    var t = base.loadBE16(at: Field.etherType)
    while t == EtherType.vlan || t == EtherType.qinq {
      tags &+= 1
      guard tags <= 2 else { throw .l2TooManyTags }
      guard length >= Self.minimumLength &+ tags &* Self.vlanTagLength else { throw .l2VlanTooShort }
      t = base.loadBE16(at: Field.etherType &+ tags &* Self.vlanTagLength)
    }
    self.tagCount = tags
  }

  @inlinable public var destination: MACAddress {
    get { base.loadMAC(at: Field.destination) }
    nonmutating set { base.storeMAC(newValue, at: Field.destination) }
  }
  @inlinable public var source: MACAddress {
    get { base.loadMAC(at: Field.source) }
    nonmutating set { base.storeMAC(newValue, at: Field.source) }
  }
  /// Bytes from the start of the frame to the start of the payload (14, 18 or 22).
  @inlinable public var headerLength: Int { Self.minimumLength &+ tagCount &* Self.vlanTagLength }
  /// The EtherType after any VLAN tags: what the payload is.
  @inlinable public var etherType: UInt16 {
    get { base.loadBE16(at: Field.etherType &+ tagCount &* Self.vlanTagLength) }
    nonmutating set { base.storeBE16(newValue, at: Field.etherType &+ tagCount &* Self.vlanTagLength) }
  }
  /// The 12-bit VLAN ID of the innermost tag, or nil for an untagged frame.
  @inlinable public var vlanID: UInt16? {
    guard tagCount > 0 else { return nil }
    return base.loadBE16(at: Field.etherType &+ 2 &+ (tagCount &- 1) &* Self.vlanTagLength) & 0x0fff
  }
  /// Priority code point of the outermost tag (802.1Q §9.6), or nil for an untagged frame.
  @inlinable public var priority: UInt8? {
    guard tagCount > 0 else { return nil }
    return UInt8(truncatingIfNeeded: base.loadBE16(at: Field.etherType &+ 2) >> 13)
  }
  @inlinable public var payload: UnsafeMutableRawPointer { base + headerLength }
}
