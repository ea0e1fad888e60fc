/// A read/write view of an ICMPv4 message header (RFC 792):
///
///     0      1      2          4                          8
///     +------+------+----------+--------------------------+------
///     | type | code | checksum | rest of header           | data …
///     +------+------+----------+--------------------------+------
///
/// The rest of header is (identifier, sequence) for echo, (unused, next-hop MTU) for
/// "fragmentation needed" (RFC 1191 §4). `init(validating:length:)` guarantees 8 bytes.
@frozen
public struct ICMPv4Header {
  public enum MessageType {
    public static let echoReply: UInt8 = 0
    public static let destinationUnreachable: UInt8 = 3
    public static let echoRequest: UInt8 = 8
    public static let timeExceeded: UInt8 = 11
    public static let parameterProblem: UInt8 = 12
    /// Error messages that quote the datagram they are about (RFC 792): a NAT translates
    /// the quote too (RFC 5508 §4.2).
    @inlinable public static func isError(_ t: UInt8) -> Bool { t == destinationUnreachable || t == timeExceeded || t == parameterProblem }
  }
  public static let minimumLength = 8

  public let base: UnsafeMutableRawPointer
  @inlinable public init(unchecked base: UnsafeMutableRawPointer) { self.base = base }
  @inlinable @inline(__always)
  public init(validating base: UnsafeMutableRawPointer, length: Int) throws(DropReason) {
    guard length >= Self.minimumLength else { throw .icmpTooShort }
    self.base = base
  }

  @inlinable public var type: UInt8 {
    get { base.loadU8(at: 0) }
    nonmutating set { base.storeU8(newValue, at: 0) }
  }
  @inlinable public var code: UInt8 {
    get { base.loadU8(at: 1) }
    nonmutating set { base.storeU8(newValue, at: 1) }
  }
  @inlinable public var checksum: UInt16 {
    get { base.loadBE16(at: 2) }
    nonmutating set { base.storeBE16(newValue, at: 2) }
  }
  /// Echo identifier (bytes 4–5); the NAT "port" of an ICMP query (RFC 5508 §3.1).
  @inlinable public var identifier: UInt16 {
    get { base.loadBE16(at: 4) }
    nonmutating set { base.storeBE16(newValue, at: 4) }
  }
  @inlinable public var sequence: UInt16 {
    get { base.loadBE16(at: 6) }
    nonmutating set { base.storeBE16(newValue, at: 6) }
  }
  /// Next-hop MTU of a "fragmentation needed" message (RFC 1191 §4, bytes 6–7).
  @inlinable public var nextHopMTU: UInt16 {
    get { base.loadBE16(at: 6) }
    nonmutating set { base.storeBE16(newValue, at: 6) }
  }
  @inlinable public var payload: UnsafeMutableRawPointer { base + Self.minimumLength }

  /// The checksum covers the whole message of `length` bytes (RFC 792).
  @inlinable public func checksumIsValid(length: Int) -> Bool { Checksum.compute(base, count: length) == 0 }
  @inlinable public func fillChecksum(length: Int) {
    checksum = 0
    checksum = Checksum.compute(base, count: length)
  }
}
