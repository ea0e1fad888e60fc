/// A read/write view of an ARP packet for Ethernet/IPv4 (RFC 826):
///
///     0     2     4    5    6     8      14     18     24     28
///     +-----+-----+----+----+-----+------+------+------+------+
///     |htype|ptype|hlen|plen| op  | sha  | spa  | tha  | tpa  |
///     +-----+-----+----+----+-----+------+------+------+------+
///
/// `init(validating:length:)` guarantees 28 bytes and the Ethernet/IPv4 address sizes,
/// so every accessor stays in bounds.
@frozen
public struct ARPHeader {
  @usableFromInline enum Field {
    @usableFromInline static let htype = 0
    @usableFromInline static let ptype = 2
    @usableFromInline static let hlen = 4
    @usableFromInline static let plen = 5
    @usableFromInline static let operation = 6
    @usableFromInline static let sha = 8
    @usableFromInline static let spa = 14
    @usableFromInline static let tha = 18
    @usableFromInline static let tpa = 24
  }
  public static let length = 28
  public static let request: UInt16 = 1
  public static let reply: UInt16 = 2

  public let base: UnsafeMutableRawPointer
  @inlinable public init(unchecked base: UnsafeMutableRawPointer) { self.base = base }

  @inlinable
  public init(validating base: UnsafeMutableRawPointer, length: Int) throws(DropReason) {
    guard length >= Self.length else { throw .arpTooShort }
    self.base = base
    guard hardwareType == 1, protocolType == EtherType.ipv4,
          base.loadU8(at: Field.hlen) == 6, base.loadU8(at: Field.plen) == 4 else { throw .arpUnsupported }
  }

  @inlinable public var hardwareType: UInt16 { base.loadBE16(at: Field.htype) }
  @inlinable public var protocolType: UInt16 { base.loadBE16(at: Field.ptype) }
  @inlinable public var operation: UInt16 {
    get { base.loadBE16(at: Field.operation) }
    nonmutating set { base.storeBE16(newValue, at: Field.operation) }
  }
  @inlinable public var senderMAC: MACAddress {
    get { base.loadMAC(at: Field.sha) }
    nonmutating set { base.storeMAC(newValue, at: Field.sha) }
  }
  @inlinable public var senderIP: IPv4Address {
    get { IPv4Address(base.loadBE32(at: Field.spa)) }
    nonmutating set { base.storeBE32(newValue.value, at: Field.spa) }
  }
  @inlinable public var targetMAC: MACAddress {
    get { base.loadMAC(at: Field.tha) }
    nonmutating set { base.storeMAC(newValue, at: Field.tha) }
  }
  @inlinable public var targetIP: IPv4Address {
    get { IPv4Address(base.loadBE32(at: Field.tpa)) }
    nonmutating set { base.storeBE32(newValue.value, at: Field.tpa) }
  }

  /// Turns this request into its reply in place — "the target IP is at `mac`", to the
  /// requester (RFC 826) — and points the untagged Ethernet header at `frame` back at the
  /// requester, from `mac`.
  @inlinable @inline(__always)
  public func makeReply(from mac: MACAddress, frame: UnsafeMutableRawPointer) {
    let requesterMAC = senderMAC, requesterIP = senderIP, asked = targetIP
    operation = Self.reply
    targetMAC = requesterMAC
    targetIP = requesterIP
    senderMAC = mac
    senderIP = asked
    frame.storeMAC(requesterMAC, at: 0)
    frame.storeMAC(mac, at: 6)
  }

  /// Writes the fixed Ethernet/IPv4 fields (htype 1, ptype 0x0800, hlen 6, plen 4).
  @inlinable public func fillFixedFields() {
    base.storeBE16(1, at: Field.htype)
    base.storeBE16(EtherType.ipv4, at: Field.ptype)
    base.storeU8(6, at: Field.hlen)
    base.storeU8(4, at: Field.plen)
  }
}
