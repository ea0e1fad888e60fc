import Foundation
import Wire

/// A control-plane error: a stable code a controller can branch on, and a message that
/// says what was wrong. Codes: bad-request, unsupported-version, unknown-op, not-found,
/// exists, conflict, in-use, io, internal.
public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible {
  public let code: String
  public let message: String
  public init(_ code: String, _ message: String) { self.code = code; self.message = message }
  public var description: String { "\(code): \(message)" }

  public static func bad(_ m: String) -> ControlError { ControlError("bad-request", m) }
}

/// Reads a JSON object strictly: every field is taken exactly once with its type checked,
/// and `finish()` rejects fields nobody asked for. Errors name the field by its path
/// ("port.create: field 'mac': not a MAC address: …").
public struct StrictObject {
  let fields: [String: Any]
  let context: String
  private var used = Set<String>()

  public init(_ any: Any?, context: String) throws(ControlError) {
    guard let d = any as? [String: Any] else { throw .bad("\(context): expected a JSON object") }
    fields = d
    self.context = context
  }

  /// Parses `data` as one JSON object.
  public init(json data: Data, context: String) throws(ControlError) {
    let any: Any
    do { any = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
      let head = String(decoding: data.prefix(40), as: UTF8.self)
      throw .bad("\(context): not valid JSON (a JSON object is expected; got '\(head)\(data.count > 40 ? "…" : "")')")
    }
    try self.init(any, context: context)
  }

  func fail(_ key: String, _ what: String) -> ControlError { .bad("\(context): field '\(key)': \(what)") }

  mutating func take(_ key: String) -> Any? {
    used.insert(key)
    guard let v = fields[key], !(v is NSNull) else { return nil }
    return v
  }

  public mutating func optionalString(_ key: String) throws(ControlError) -> String? {
    guard let v = take(key) else { return nil }
    guard let s = v as? String else { throw fail(key, "expected a string") }
    return s
  }
  public mutating func string(_ key: String) throws(ControlError) -> String {
    guard let s = try optionalString(key) else { throw fail(key, "missing") }
    return s
  }
  /// A non-empty identifier: letters, digits, '-', '_', '.', at most 64 characters.
  public mutating func identifier(_ key: String) throws(ControlError) -> String {
    let s = try string(key)
    guard Self.isIdentifier(s) else { throw fail(key, "'\(s)' is not an identifier (1–64 of letters, digits, - _ .)") }
    return s
  }
  public static func isIdentifier(_ s: String) -> Bool {
    !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
  }
  public mutating func optionalIdentifier(_ key: String) throws(ControlError) -> String? {
    guard fields[key] != nil, !(fields[key] is NSNull) else {
      used.insert(key)
      return nil
    }
    return try identifier(key)
  }

  public mutating func optionalInt(_ key: String, _ range: ClosedRange<Int>) throws(ControlError) -> Int? {
    guard let v = take(key) else { return nil }
    guard !Self.isBool(v), let n = v as? NSNumber, let i = Int(exactly: n.doubleValue) else {
      throw fail(key, "expected an integer")
    }
    guard range.contains(i) else { throw fail(key, "\(i) is outside \(range.lowerBound)…\(range.upperBound)") }
    return i
  }
  public mutating func int(_ key: String, _ range: ClosedRange<Int>) throws(ControlError) -> Int {
    guard let i = try optionalInt(key, range) else { throw fail(key, "missing") }
    return i
  }
  public mutating func optionalBool(_ key: String) throws(ControlError) -> Bool? {
    guard let v = take(key) else { return nil }
    guard Self.isBool(v), let b = v as? Bool else { throw fail(key, "expected true or false") }
    return b
  }
  public mutating func optionalMAC(_ key: String) throws(ControlError) -> MACAddress? {
    guard let s = try optionalString(key) else { return nil }
    guard let m = MACAddress(s) else { throw fail(key, "not a MAC address: '\(s)'") }
    return m
  }
  public mutating func mac(_ key: String) throws(ControlError) -> MACAddress {
    guard let m = try optionalMAC(key) else { throw fail(key, "missing") }
    return m
  }
  public mutating func optionalIPv4(_ key: String) throws(ControlError) -> IPv4Address? {
    guard let s = try optionalString(key) else { return nil }
    guard let a = IPv4Address(s) else { throw fail(key, "not an IPv4 address: '\(s)'") }
    return a
  }
  /// A list of identifiers (each in the identifier grammar), or nil when absent.
  public mutating func optionalIdentifierList(_ key: String) throws(ControlError) -> [String]? {
    guard let v = take(key) else { return nil }
    guard let list = v as? [Any] else { throw fail(key, "not a list") }
    var out: [String] = []
    for item in list {
      guard let text = item as? String, Self.isIdentifier(text) else { throw fail(key, "'\(item)' is not an identifier") }
      out.append(text)
    }
    return out
  }

  public mutating func optionalIPv4List(_ key: String) throws(ControlError) -> [IPv4Address]? {
    guard let v = take(key) else { return nil }
    guard let list = v as? [Any] else { throw fail(key, "expected a list of IPv4 addresses") }
    var out: [IPv4Address] = []
    for item in list {
      guard let s = item as? String, let a = IPv4Address(s) else { throw fail(key, "not an IPv4 address: \(item)") }
      out.append(a)
    }
    return out
  }
  public mutating func optionalObject(_ key: String) throws(ControlError) -> StrictObject? {
    guard let v = take(key) else { return nil }
    return try StrictObject(v, context: "\(context).\(key)")
  }
  /// The field decoded as `T` from its JSON (a model object, a whole state).
  /// The field decoded as `T`, refusing fields `T` does not know (`StrictDecoding`).
  public mutating func optionalDecoded<T: Codable>(_ key: String, as: T.Type) throws(ControlError) -> T? {
    guard let v = take(key) else { return nil }
    do {
      let data = try JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed])
      return try StrictDecoding.decode(T.self, from: data)
    } catch let e as StrictDecoding.UnknownField { throw fail(key, "\(e)") } catch { throw fail(key, "not a valid \(T.self): \(error)") }
  }
  public mutating func optionalList(_ key: String) throws(ControlError) -> [Any]? {
    guard let v = take(key) else { return nil }
    guard let l = v as? [Any] else { throw fail(key, "expected a list") }
    return l
  }

  /// JSON true/false, as opposed to a number (JSONSerialization hands both out as NSNumber).
  public static func isBool(_ v: Any) -> Bool {
    if v is Bool && !(v is NSNumber) { return true }
    guard let n = v as? NSNumber else { return false }
    return String(cString: n.objCType) == "c" || type(of: v) == Bool.self
  }

  /// Rejects every field that was not read.
  public func finish() throws(ControlError) {
    let unknown = Set(fields.keys).subtracting(used).sorted()
    guard unknown.isEmpty else {
      throw .bad("\(context): unknown field\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", "))")
    }
  }
}
