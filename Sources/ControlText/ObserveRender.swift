import Control
import Foundation

extension Render {
  /// `flow list`, `show flows`: in the order flows are tried.
  public static func flows(_ rows: [FlowRow]) -> String {
    var t = TextTable("ID", "PRIORITY", "MATCH", "ACTION", "PACKETS", "BYTES")
    for f in rows { t.add([f.id + (f.inactive ? " (inactive)" : ""), "\(f.priority)", f.match, f.action, "\(f.packets)", "\(f.bytes)"]) }
    return t.text
  }

  /// `dump-flows`: one line per compiled entry, as `ovs-ofctl dump-flows` prints them; the
  /// object an entry comes from is its cookie.
  public static func dumpFlows(_ rows: [DumpFlowRow]) -> String {
    rows.map { r in
      " table=\(r.table), n_packets=\(r.packets.map(String.init) ?? "-"), n_bytes=\(r.bytes.map(String.init) ?? "-"), "
        + "\(r.match) actions=\(r.action) cookie=\(r.object)\n"
    }.joined()
  }

  /// `capture` and `capture status`.
  public static func capture(_ r: CaptureReply) -> String {
    guard r.state != "idle" else { return "no capture\n" }
    return "capture \(r.state): port \(r.port ?? "-") \(r.direction ?? "-")\(r.filter.map { " filter '\($0)'" } ?? ""), "
      + "\(r.written) of \(r.wanted) frames written to \(r.file ?? "-"), \(r.lost) lost\n"
  }

  /// `trace show`, `trace packet`: each packet's records in order, as VPP's `show trace`.
  public static func trace(_ r: TraceReply) -> String {
    var out = "trace \(r.state)"
    if let p = r.port { out += ": port \(p)" }
    if let f = r.filter { out += " filter '\(f)'" }
    if r.state != "dry-run" { out += ", \(r.packets.count) of \(r.wanted) packets" }
    if r.lost > 0 { out += ", \(r.lost) records lost" }
    out += "\n"
    for p in r.packets {
      out += "\npacket \(p.id & 0xff_ffff) (worker \(p.worker))\n"
      for s in p.steps {
        var line = String(format: "%9.3f us  ", Double(s.nanoseconds) / 1000) + s.node.padding(toLength: 15, withPad: " ", startingAt: 0)
        if let d = s.drop {
          line += "DROP \(d)" + (s.next.map { " -> \($0)" } ?? "")
        } else if let n = s.next {
          line += "-> \(n)"
        } else if let o = s.outPort {
          line += "sent on \(o)"
        } else {
          line += "(consumed)"
        }
        line += "  [in \(s.inPort), gen \(s.generation)]\n"
        out += line + "             " + s.frame + "\n"
        if let d = s.detail { out += "             " + d + "\n" }
      }
    }
    if let outputs = r.outputs {
      out += outputs.isEmpty ? "\nnothing would be sent\n" : "\nwould send:\n"
      for o in outputs { out += "  on \(o.port): \(o.frame)\n" }
    }
    return out
  }
}
