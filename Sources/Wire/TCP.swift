/// A read/write view of a TCP header (RFC 9293 §3.1):
///
///     0        2        4                 8                 12   13     14       16       18       20
///     +--------+--------+-----------------+-----------------+----+------+--------+--------+--------+----
///     |src port|dst port| sequence number | ack number      |off | flags| window |checksum| urgent | options …
///     +--------+--------+-----------------+-----------------+----+------+--------+--------+--------+----
///
/// `init(validating:length:)` takes the IP payload length and guarantees
/// 20 ≤ headerLength ≤ that length.
@frozen
public struct TCPHeader {
  public enum Flags {
    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10
    public static let urg: UInt8 = 0x20
  }
  public static let minimumLength = 20
  public let base: UnsafeMutableRawPointer
  @inlinable public init(unchecked base: UnsafeMutableRawPointer) { self.base = base }
  @inlinable @inline(__always)
  public init(validating base: UnsafeMutableRawPointer, length available: Int) throws(DropReason) {
    guard available >= Self.minimumLength else { throw .tcpTooShort }
    self.base = base
    let h = headerLength
    guard h >= Self.minimumLength, h <= available else { throw .tcpBadDataOffset }
  }

  @inlinable public var sourcePort: UInt16 {
    get { base.loadBE16(at: 0) }
    nonmutating set { base.storeBE16(newValue, at: 0) }
  }
  @inlinable public var destinationPort: UInt16 {
    get { base.loadBE16(at: 2) }
    nonmutating set { base.storeBE16(newValue, at: 2) }
  }
  @inlinable public var sequenceNumber: UInt32 {
    get { base.loadBE32(at: 4) }
    nonmutating set { base.storeBE32(newValue, at: 4) }
  }
  @inlinable public var acknowledgmentNumber: UInt32 {
    get { base.loadBE32(at: 8) }
    nonmutating set { base.storeBE32(newValue, at: 8) }
  }
  /// Header length in bytes (data offset × 4).
  @inlinable public var headerLength: Int { Int(base.loadU8(at: 12) >> 4) &* 4 }
  @inlinable public var flags: UInt8 {
    get { base.loadU8(at: 13) }
    nonmutating set { base.storeU8(newValue, at: 13) }
  }
  @inlinable public var window: UInt16 {
    get { base.loadBE16(at: 14) }
    nonmutating set { base.storeBE16(newValue, at: 14) }
  }
  @inlinable public var checksum: UInt16 {
    get { base.loadBE16(at: 16) }
    nonmutating set { base.storeBE16(newValue, at: 16) }
  }
  @inlinable public var urgentPointer: UInt16 { base.loadBE16(at: 18) }

  @inlinable public func checksumIsValid(pseudoHeaderSum: UInt64, segmentLength: Int) -> Bool {
    Checksum.compute(base, count: segmentLength, initial: pseudoHeaderSum) == 0
  }
  @inlinable public func fillChecksum(pseudoHeaderSum: UInt64, segmentLength: Int) {
    checksum = 0
    checksum = Checksum.compute(base, count: segmentLength, initial: pseudoHeaderSum)
  }
  /// Patches the checksum for an IPv4 address change in the pseudo-header (RFC 1624).
  @inlinable public func adjustChecksum(oldAddress: IPv4Address, newAddress: IPv4Address) {
    checksum = Checksum.update(checksum, old: oldAddress.value, new: newAddress.value)
  }
  @inlinable public func rewriteSourcePort(_ p: UInt16) {
    let old = sourcePort
    sourcePort = p
    checksum = Checksum.update(checksum, old: old, new: p)
  }
  @inlinable public func rewriteDestinationPort(_ p: UInt16) {
    let old = destinationPort
    destinationPort = p
    checksum = Checksum.update(checksum, old: old, new: p)
  }
}
