/// A 48-bit IEEE 802 MAC address, stored in the low 48 bits in network byte order
/// (first octet in bits 47…40), so that it hashes and compares as one integer.
@frozen
public struct MACAddress: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
  public let rawValue: UInt64

  @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue & 0xffff_ffff_ffff }
  @inlinable public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
    self.rawValue = UInt64(a) << 40 | UInt64(b) << 32 | UInt64(c) << 24 | UInt64(d) << 16 | UInt64(e) << 8 | UInt64(f)
  }

  public static let broadcast = MACAddress(rawValue: 0xffff_ffff_ffff)
  public static let zero = MACAddress(rawValue: 0)

  /// I/G bit (IEEE 802-2014 §8.2): group (multicast or broadcast) address.
  @inlinable public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }
  @inlinable public var isBroadcast: Bool { rawValue == 0xffff_ffff_ffff }
  @inlinable public var isUnicast: Bool { !isMulticast }

  /// Parses exactly six groups of two hexadecimal digits separated by one kind of
  /// separator, ':' or '-' ("fa:16:3e:00:00:01", "FA-16-3E-00-00-01"); nil for anything
  /// else (signs, empty groups, one-digit groups, mixed separators, surrounding text).
  /// This is the one MAC grammar of the project: the control protocol, the config and the
  /// state file all read MACs through it.
  public init?(_ text: some StringProtocol) {
    let u = Array(text.utf8)
    guard u.count == 17 else { return nil }
    let sep = u[2]
    guard sep == UInt8(ascii: ":") || sep == UInt8(ascii: "-") else { return nil }
    var v: UInt64 = 0
    for g in 0..<6 {
      let i = g * 3
      if g > 0 && u[i - 1] != sep { return nil }
      guard let hi = Self.hexDigit(u[i]), let lo = Self.hexDigit(u[i + 1]) else { return nil }
      v = v << 8 | UInt64(hi << 4 | lo)
    }
    self.rawValue = v
  }

  static func hexDigit(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  public var octets: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) } }
  public var description: String {
    octets.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
  }
  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

  public init(from decoder: any Decoder) throws {
    let s = try decoder.singleValueContainer().decode(String.self)
    guard let m = MACAddress(s) else {
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a MAC address: \(s)"))
    }
    self = m
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

/// An IPv4 address in host byte order (RFC 791).
@frozen
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
  public let value: UInt32
  @inlinable public init(_ value: UInt32) { self.value = value }
  @inlinable public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
  }
  /// Parses dotted-quad text: four decimal numbers 0–255 of one to three ASCII digits,
  /// no leading zeros, no signs, no spaces (RFC 3986 §3.2.2 `dec-octet`); nil for anything
  /// else. The one IPv4 grammar of the project (control protocol, config, state file).
  public init?(_ text: some StringProtocol) {
    var v: UInt32 = 0
    var groups = 0, digits = 0, octet: UInt32 = 0, leadingZero = false
    for c in text.utf8 {
      if c == UInt8(ascii: ".") {
        guard digits > 0, groups < 3 else { return nil }
        v = v << 8 | octet
        groups += 1
        digits = 0
        octet = 0
        leadingZero = false
        continue
      }
      guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 3, !leadingZero else { return nil }
      if digits == 0 { leadingZero = c == UInt8(ascii: "0") }
      octet = octet * 10 + UInt32(c - UInt8(ascii: "0"))
      digits += 1
      guard octet <= 255 else { return nil }
    }
    guard groups == 3, digits > 0 else { return nil }
    value = v << 8 | octet
  }
  public var description: String {
    "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
  }
  @inlinable public var isMulticast: Bool { value >> 28 == 0xe }
  @inlinable public var isBroadcast: Bool { value == .max }
  /// An address a single host can own and be sent unicast to (RFC 1122 §3.2.1.3, RFC 5735):
  /// not 0.0.0.0/8 ("this network"), not loopback 127/8, not multicast 224/4, not the
  /// reserved 240/4 or the limited broadcast. Tunnel endpoints and next hops must be.
  @inlinable public var isUnicastHost: Bool {
    let first = value >> 24
    return first != 0 && first != 127 && first < 224
  }
  public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

  public init(from decoder: any Decoder) throws {
    let s = try decoder.singleValueContainer().decode(String.self)
    guard let a = IPv4Address(s) else {
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 address: \(s)"))
    }
    self = a
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

/// An IPv4 prefix `address/length`; host bits are cleared on construction.
public struct IPv4Prefix: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
  public let address: IPv4Address
  public let length: Int
  public init(_ address: IPv4Address, _ length: Int) {
    precondition((0...32).contains(length))
    self.length = length
    self.address = IPv4Address(address.value & Self.mask(length))
  }
  /// Parses `a.b.c.d/n` (host bits are cleared); nil for anything else.
  public init?(_ text: some StringProtocol) {
    guard let (a, n) = Self.addressAndLength(text) else { return nil }
    self.init(a, n)
  }
  /// Parses `a.b.c.d/n` keeping the host bits (an interface address such as a gateway
  /// `10.1.0.1/24`): the address in the IPv4 grammar above, then `/` and a length 0–32 in
  /// decimal without sign or leading zero. nil for anything else.
  public static func addressAndLength(_ text: some StringProtocol) -> (IPv4Address, Int)? {
    let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2, let a = IPv4Address(parts[0]), let n = Int(parts[1]), (0...32).contains(n),
          String(n) == parts[1] else { return nil }
    return (a, n)
  }
  public static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : ~0 << (32 - UInt32(length)) }
  public func contains(_ ip: IPv4Address) -> Bool { ip.value & Self.mask(length) == address.value }
  public func overlaps(_ o: IPv4Prefix) -> Bool { contains(o.address) || o.contains(address) }
  public var description: String { "\(address)/\(length)" }
}

/// An IPv6 address (RFC 8200), as two 64-bit halves in host order.
@frozen
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
  public let high: UInt64
  public let low: UInt64
  @inlinable public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }
  /// Full, uncompressed form (eight groups); good enough for traces.
  public var description: String {
    (0..<8).map { i -> String in
      let w = i < 4 ? high >> (48 - 16 * UInt64(i)) : low >> (48 - 16 * UInt64(i - 4))
      return String(UInt16(truncatingIfNeeded: w), radix: 16)
    }.joined(separator: ":")
  }
}
