import Control
import Foundation

/// What gannetctl prints: the control protocol's typed replies as the text an operator
/// reads. Pure functions of the replies (golden-tested in `ControlTextTests`); gannetctl
/// only chooses which one to call.

/// A plain text table: a header row and columns aligned to their widest cell; "(none)"
/// without rows.
public struct TextTable {
  public var headers: [String]
  public var rows: [[String]] = []
  public init(_ headers: String...) { self.headers = headers }

  public mutating func add(_ cells: [String]) { rows.append(cells) }

  public var text: String {
    guard !rows.isEmpty else { return "(none)\n" }
    var widths = headers.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ items: [String]) -> String {
      items.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
        .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
    }
    return line(headers) + rows.map(line).joined()
  }
}

/// Cell formats shared by every table.
public enum Cell {
  public static func yesNo(_ b: Bool) -> String { b ? "yes" : "no" }
  public static func list(_ xs: [some CustomStringConvertible]) -> String { xs.map(\.description).joined(separator: ",") }
  public static func opt(_ v: (some CustomStringConvertible)?) -> String { v?.description ?? "-" }
  public static func decimal(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? "\(Int64(d))" : String(format: "%.1f", d)
  }
}

/// An `Encodable` value as aligned "key  value" lines: nested objects indented under their
/// key, lists of objects one line per item, keys sorted and never cut.
public func keyValues(_ value: some Encodable) -> String {
  let enc = JSONEncoder()
  enc.outputFormatting = [.sortedKeys]
  guard let data = try? enc.encode(value), let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return "" }
  return keyValues(o)
}

func keyValues(_ d: [String: Any], indent: String = "") -> String {
  let width = (d.keys.map(\.count).max() ?? 0) + 2
  func scalar(_ v: Any) -> String {
    if let n = v as? NSNumber, StrictObject.isBool(n) { return n.boolValue ? "yes" : "no" }
    return "\(v)"
  }
  var out = ""
  for key in d.keys.sorted() {
    let label = indent + key.padding(toLength: width, withPad: " ", startingAt: 0)
    switch d[key]! {
    case let o as [String: Any]:
      out += indent + key + "\n" + keyValues(o, indent: indent + "  ")
    case let list as [[String: Any]]:
      out += (list.isEmpty ? label + "none" : indent + key) + "\n"
      for item in list { out += indent + "  - " + item.keys.sorted().map { "\($0) \(scalar(item[$0]!))" }.joined(separator: ", ") + "\n" }
    case let list as [Any]:
      out += label + (list.isEmpty ? "none" : list.map(scalar).joined(separator: ", ")) + "\n"
    case let v:
      out += label + scalar(v) + "\n"
    }
  }
  return out
}
