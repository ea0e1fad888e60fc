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

  /// Parses "aa:bb:cc:dd:ee:ff" (also with '-'); nil for anything else.
  public init?(_ text: some StringProtocol) {
    let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
    guard parts.count == 6 else { return nil }
    var v: UInt64 = 0
    for p in parts {
      guard p.count == 2, let b = UInt8(p, radix: 16) else { return nil }
      v = v << 8 | UInt64(b)
    }
    self.rawValue = v
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
  /// Parses dotted-quad text; nil for anything else (no shorthand forms, no leading zeros).
  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var v: UInt32 = 0
    for p in parts {
      guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let b = UInt8(p),
            p.count == 1 || p.first != "0" else { return nil }
      v = v << 8 | UInt32(b)
    }
    value = v
  }
  public var description: String {
    "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
  }
  @inlinable public var isMulticast: Bool { value >> 28 == 0xe }
  @inlinable public var isBroadcast: Bool { value == .max }
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
