import Foundation

/// Decoding of a whole `Codable` document (a state file, a `state.replace`, an object in
/// the cloud's store) that refuses fields its types do not know, at any depth.
/// `JSONDecoder` ignores them, so a misspelt `security_groups` inside a port would leave
/// the port unfiltered without a word; here it is an error naming the field's path.
///
/// How: the decoded value is encoded again with the types' own synthesized `Encodable`,
/// and every key of the input must appear in that encoding at the same place. A key whose
/// input value is `null` may be missing (an optional that is absent). Lists are compared
/// element by element when both have the same length (a type that reorders a list would
/// compare unlike elements: none in the control model does).
///
/// Any thread; pure.
public enum StrictDecoding {
  /// A field that the document's types do not read.
  public struct UnknownField: Error, CustomStringConvertible {
    /// Where it is, as `ports.p1.securty_groups` or `rules[2].port`.
    public let path: String
    public var description: String { "unknown field '\(path)'" }
  }

  /// `T` decoded from `data`; throws the decoder's error, or `UnknownField`.
  public static func decode<T: Codable>(_ type: T.Type, from data: Data) throws -> T {
    let value = try JSONDecoder().decode(T.self, from: data)
    let input = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    let known = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value), options: [.fragmentsAllowed])
    if let path = unknownField(in: input, known: known, path: "") { throw UnknownField(path: path) }
    return value
  }

  /// The path of a key of `input` that `known` lacks (one of them when there are several),
  /// or nil.
  static func unknownField(in input: Any, known: Any, path: String) -> String? {
    guard let reversed = unknown(in: input, known: known) else { return nil }
    var out = path
    for part in reversed.reversed() {
      if part.hasPrefix("[") || out.isEmpty { out += part } else { out += "." + part }
    }
    return out
  }

  /// The unknown key's path, innermost part first; nothing is built while all is known
  /// (a 100,000-port state is millions of keys).
  private static func unknown(in input: Any, known: Any) -> [String]? {
    switch (input, known) {
    case let (i as [String: Any], k as [String: Any]):
      var missing: String?
      for (key, value) in i where k[key] == nil && !(value is NSNull) {
        if missing == nil || key < missing! { missing = key }
      }
      if let missing { return [missing] }
      for (key, value) in i {
        guard let expected = k[key], var found = unknown(in: value, known: expected) else { continue }
        found.append(key)
        return found
      }
    case let (i as [Any], k as [Any]) where i.count == k.count:
      for n in i.indices {
        guard var found = unknown(in: i[n], known: k[n]) else { continue }
        found.append("[\(n)]")
        return found
      }
    default:
      break
    }
    return nil
  }
}
