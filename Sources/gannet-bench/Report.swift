import Foundation
import IO
import Pipeline
import Wire

/// What gannet-bench prints: the rate, per-node cost, and every drop by its stable name.
struct Report {
  let workload: String
  let backend: String
  let memory: String
  let burst: Int
  let measurement: Measurement
  let graph: NodeCounters
  let ports: [IO.Port]
  /// --new-connections: connections created and refused (table full) during the run.
  var connections: (created: UInt64, tableFull: UInt64)? = nil
  /// Workers (each on its own core); the node figures are worker 0's when there are more.
  var cores = 1
  var pinned = true

  var connectionsPerSecond: Double? { connections.map { Double($0.created) / measurement.seconds } }

  var drops: [(String, String, UInt64)] {
    var out = graph.allDrops().map { ($0.0.name, $0.1.name, $0.2) }
    for (i, p) in ports.enumerated() {
      for r in DropReason.allCases where p.counters.drops(r) > 0 {
        out.append(("port\(i)-\(p.kind)", r.name, p.counters.drops(r)))
      }
    }
    return out
  }

  func nodeRows() -> [(String, UInt64, UInt64, Double)] {
    NodeID.allCases.compactMap { n in
      let pk = graph.packets(n)
      guard pk > 0 else { return nil }
      return (n.name, graph.vectors(n), pk, Double(graph.cycles(n)) / Double(pk))
    }
  }

  func table() -> String {
    let m = measurement
    var s = """
      workload      \(workload)
      backend       \(backend) (memory: \(memory)), \(cores == 1 ? "1 core" : "\(cores) workers on \(cores) cores\(pinned ? "" : " (not pinned)")"), burst \(burst)
      measured      \(String(format: "%.2f", m.seconds)) s, rx \(m.rx) packets, tx \(m.tx) packets
      rate          \(String(format: "%.2f", m.mpps)) Mpps   \(String(format: "%.1f", m.seconds * 1e9 / Double(max(m.rx, 1)))) ns/packet
      \(connections.map { "connections   \(String(format: "%.2f", connectionsPerSecond! / 1e6)) M new/s (created \($0.created), refused table-full \($0.tableFull))\n" } ?? "")

      node\(cores > 1 ? " (worker 0)" : "           ")     vectors      packets   cycles/packet

      """
    for (name, v, p, c) in nodeRows() {
      s += name.padding(toLength: 16, withPad: " ", startingAt: 0)
        + String(format: "%11llu %12llu %15.1f\n", v, p, c)
    }
    let d = drops
    s += "\ndrops" + (d.isEmpty ? "         none\n" : "\n")
    for (where_, reason, count) in d {
      s += "  " + where_.padding(toLength: 22, withPad: " ", startingAt: 0)
        + reason.padding(toLength: 26, withPad: " ", startingAt: 0) + "\(count)\n"
    }
    return s
  }

  func json() -> String {
    let m = measurement
    var nodes: [String: Any] = [:]
    for (name, v, p, c) in nodeRows() {
      nodes[name] = ["vectors": v, "packets": p, "cycles_per_packet": (c * 10).rounded() / 10]
    }
    var dropObj: [String: Any] = [:]
    for (w, r, c) in drops { dropObj["\(w)/\(r)"] = c }
    var obj: [String: Any] = [
      "workload": workload, "backend": backend, "memory": memory, "cores": cores, "burst": burst,
      "seconds": m.seconds, "rx_packets": m.rx, "tx_packets": m.tx,
      "mpps": (m.mpps * 1000).rounded() / 1000, "ns_per_packet": m.seconds * 1e9 / Double(max(m.rx, 1)),
      "nodes": nodes, "drops": dropObj,
    ]
    if let c = connections {
      obj["connections_created"] = c.created
      obj["connections_table_full"] = c.tableFull
      obj["new_connections_per_second"] = connectionsPerSecond!.rounded()
    }
    let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
  }
}
