/// IP protocol numbers (IANA protocol-numbers).
public enum IPProtocol {
  public static let icmp: UInt8 = 1
  public static let tcp: UInt8 = 6
  public static let udp: UInt8 = 17
  public static let icmpv6: UInt8 = 58
}

/// A read/write view of an IPv4 header lying in packet memory (RFC 791 §3.1):
///
///      0       4       8              16    19                      31
///     +-------+-------+---------------+-----+------------------------+
///     |version|  IHL  |   DSCP/ECN    |      total length            |
///     |        identification         |flags|   fragment offset      |
///     |      TTL      |   protocol    |      header checksum         |
///     |                        source address                        |
///     |                      destination address                     |
///     +--------------------------------------------------------------+
///
/// The view owns nothing. `init(validating:length:)` guarantees version 4,
/// 20 ≤ headerLength ≤ totalLength ≤ length, so every accessor, `payload` and
/// `payloadLength` stay inside the frame. Setters of `totalLength` void that guarantee.
@frozen
public struct IPv4Header {
  @usableFromInline enum Field {
    @usableFromInline static let versionIHL = 0
    @usableFromInline static let tos = 1
    @usableFromInline static let totalLength = 2
    @usableFromInline static let identification = 4
    @usableFromInline static let flagsFragment = 6
    @usableFromInline static let ttl = 8
    @usableFromInline static let proto = 9
    @usableFromInline static let checksum = 10
    @usableFromInline static let source = 12
    @usableFromInline static let destination = 16
  }
  public static let minimumLength = 20

  public let base: UnsafeMutableRawPointer

  /// Views `base` as an IPv4 header without any check, for emitting into a buffer the
  /// caller has sized itself.
  @inlinable public init(unchecked base: UnsafeMutableRawPointer) { self.base = base }

  /// Views untrusted bytes; throws the reason the packet must be dropped.
  /// `length` is the number of bytes from `base` to the end of the frame.
  @inlinable @inline(__always)
  public init(validating base: UnsafeMutableRawPointer, length: Int) throws(DropReason) {
    guard length >= Self.minimumLength else { throw .ipTooShort }
    self.base = base
    guard version == 4 else { throw .ipBadVersion }
    let ihl = headerLength, total = Int(totalLength)
    guard ihl >= Self.minimumLength, ihl <= total else { throw .ipBadHeaderLength }
    guard total <= length else { throw .ipBadTotalLength }
  }

  @inlinable var versionIHL: UInt8 { base.loadU8(at: Field.versionIHL) }
  @inlinable public var version: UInt8 { versionIHL >> 4 }
  /// Header length in bytes (IHL × 4).
  @inlinable public var headerLength: Int { Int(versionIHL & 0x0f) &* 4 }
  @inlinable public var tos: UInt8 {
    get { base.loadU8(at: Field.tos) }
    nonmutating set { base.storeU8(newValue, at: Field.tos) }
  }
  @inlinable public var dscp: UInt8 { tos >> 2 }
  @inlinable public var ecn: UInt8 { tos & 0x3 }
  @inlinable public var totalLength: UInt16 {
    get { base.loadBE16(at: Field.totalLength) }
    nonmutating set { base.storeBE16(newValue, at: Field.totalLength) }
  }
  @inlinable public var identification: UInt16 {
    get { base.loadBE16(at: Field.identification) }
    nonmutating set { base.storeBE16(newValue, at: Field.identification) }
  }
  /// Don't Fragment (RFC 791 §3.1, flags bit 1).
  @inlinable public var dontFragment: Bool { base.loadBE16(at: Field.flagsFragment) & 0x4000 != 0 }
  /// More Fragments (flags bit 2).
  @inlinable public var moreFragments: Bool { base.loadBE16(at: Field.flagsFragment) & 0x2000 != 0 }
  /// Fragment offset in bytes (the field counts 8-byte units).
  @inlinable public var fragmentOffset: Int { Int(base.loadBE16(at: Field.flagsFragment) & 0x1fff) &* 8 }
  /// True for any fragment but an unfragmented datagram (MF set or offset non-zero).
  @inlinable public var isFragment: Bool { base.loadBE16(at: Field.flagsFragment) & 0x3fff != 0 }
  @inlinable public var ttl: UInt8 {
    get { base.loadU8(at: Field.ttl) }
    nonmutating set { base.storeU8(newValue, at: Field.ttl) }
  }
  @inlinable public var proto: UInt8 {
    get { base.loadU8(at: Field.proto) }
    nonmutating set { base.storeU8(newValue, at: Field.proto) }
  }
  @inlinable public var checksum: UInt16 {
    get { base.loadBE16(at: Field.checksum) }
    nonmutating set { base.storeBE16(newValue, at: Field.checksum) }
  }
  @inlinable public var source: IPv4Address {
    get { IPv4Address(base.loadBE32(at: Field.source)) }
    nonmutating set { base.storeBE32(newValue.value, at: Field.source) }
  }
  @inlinable public var destination: IPv4Address {
    get { IPv4Address(base.loadBE32(at: Field.destination)) }
    nonmutating set { base.storeBE32(newValue.value, at: Field.destination) }
  }
  @inlinable public var payload: UnsafeMutableRawPointer { base + headerLength }
  @inlinable public var payloadLength: Int { Int(totalLength) &- headerLength }

  /// True when the header checksum verifies (RFC 1071: the sum over the header is 0xffff).
  /// The common 20-byte header is summed as five native-order 32-bit words: the
  /// one's-complement sum does not depend on byte order (RFC 1071 §2(B)), so no swaps.
  @inlinable public var checksumIsValid: Bool {
    @inline(__always) get {
    guard headerLength == Self.minimumLength else { return Checksum.compute(base, count: headerLength) == 0 }
    var s = UInt64(base.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
    s &+= UInt64(base.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
    s &+= UInt64(base.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
    s &+= UInt64(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
    s &+= UInt64(base.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
    s = (s & 0xffff_ffff) &+ (s >> 32)
    s = (s & 0xffff) &+ (s >> 16)
    s = (s & 0xffff) &+ (s >> 16)
    s = (s & 0xffff) &+ (s >> 16)
    return s == 0xffff
    }
  }

  /// Recomputes the header checksum from scratch.
  @inlinable public func fillChecksum() {
    checksum = 0
    checksum = Checksum.compute(base, count: headerLength)
  }

  /// Decrements TTL and patches the checksum incrementally (RFC 1624 eqn. 3; RFC 1812 §5.3.1).
  @inlinable public func decrementTTL() {
    let old = base.loadBE16(at: Field.ttl)            // TTL and protocol share one 16-bit word
    ttl &-= 1
    checksum = Checksum.update(checksum, old: old, new: base.loadBE16(at: Field.ttl))
  }

  /// Rewrites the source address and patches the header checksum incrementally. The
  /// caller patches the L4 checksum (pseudo-header) with the returned old address.
  @inlinable @discardableResult
  public func rewriteSource(_ a: IPv4Address) -> IPv4Address {
    let old = source
    source = a
    checksum = Checksum.update(checksum, old: old.value, new: a.value)
    return old
  }

  /// Rewrites the destination address; see `rewriteSource`.
  @inlinable @discardableResult
  public func rewriteDestination(_ a: IPv4Address) -> IPv4Address {
    let old = destination
    destination = a
    checksum = Checksum.update(checksum, old: old.value, new: a.value)
    return old
  }

  /// The pseudo-header sum for this datagram's TCP or UDP payload.
  @inlinable public var pseudoHeaderSum: UInt64 {
    Checksum.pseudoHeaderSum(source: source, destination: destination, protocol: proto, length: UInt16(truncatingIfNeeded: payloadLength))
  }
}
