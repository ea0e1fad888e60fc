/// A read/write view of a UDP header (RFC 768):
///
///     0            2            4            6            8
///     +------------+------------+------------+------------+------
///     | src port   | dst port   | length     | checksum   | data …
///     +------------+------------+------------+------------+------
///
/// `init(validating:length:)` takes the IP payload length and guarantees
/// 8 ≤ self.length ≤ that length. Over IPv4 a checksum of 0 means "none" (RFC 768);
/// the rewrite helpers keep it 0 and never produce 0 for a computed one.
@frozen
public struct UDPHeader {
  public static let length = 8
  public let base: UnsafeMutableRawPointer
  @inlinable public init(unchecked base: UnsafeMutableRawPointer) { self.base = base }
  @inlinable @inline(__always)
  public init(validating base: UnsafeMutableRawPointer, length available: Int) throws(DropReason) {
    guard available >= Self.length else { throw .udpTooShort }
    self.base = base
    let l = Int(length)
    guard l >= Self.length, l <= available else { throw .udpBadLength }
  }

  @inlinable public var sourcePort: UInt16 {
    get { base.loadBE16(at: 0) }
    nonmutating set { base.storeBE16(newValue, at: 0) }
  }
  @inlinable public var destinationPort: UInt16 {
    get { base.loadBE16(at: 2) }
    nonmutating set { base.storeBE16(newValue, at: 2) }
  }
  @inlinable public var length: UInt16 {
    get { base.loadBE16(at: 4) }
    nonmutating set { base.storeBE16(newValue, at: 4) }
  }
  @inlinable public var checksum: UInt16 {
    get { base.loadBE16(at: 6) }
    nonmutating set { base.storeBE16(newValue, at: 6) }
  }
  @inlinable public var payload: UnsafeMutableRawPointer { base + Self.length }

  /// Verifies the checksum against the IPv4 pseudo-header; a zero checksum passes (none sent).
  @inlinable public func checksumIsValid(pseudoHeaderSum: UInt64) -> Bool {
    checksum == 0 || Checksum.compute(base, count: Int(length), initial: pseudoHeaderSum) == 0
  }
  /// Computes and stores the checksum (0 is sent as 0xffff, RFC 768).
  @inlinable public func fillChecksum(pseudoHeaderSum: UInt64) {
    checksum = 0
    let c = Checksum.compute(base, count: Int(length), initial: pseudoHeaderSum)
    checksum = c == 0 ? 0xffff : c
  }
  /// Patches the checksum for an IPv4 address change in the pseudo-header (RFC 1624).
  @inlinable public func adjustChecksum(oldAddress: IPv4Address, newAddress: IPv4Address) {
    let c = checksum
    guard c != 0 else { return }
    let n = Checksum.update(c, old: oldAddress.value, new: newAddress.value)
    checksum = n == 0 ? 0xffff : n
  }
  @inlinable public func rewriteSourcePort(_ p: UInt16) {
    let old = sourcePort
    sourcePort = p
    let c = checksum
    guard c != 0 else { return }
    let n = Checksum.update(c, old: old, new: p)
    checksum = n == 0 ? 0xffff : n
  }
  @inlinable public func rewriteDestinationPort(_ p: UInt16) {
    let old = destinationPort
    destinationPort = p
    let c = checksum
    guard c != 0 else { return }
    let n = Checksum.update(c, old: old, new: p)
    checksum = n == 0 ? 0xffff : n
  }
}
