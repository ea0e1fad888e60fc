import Compiler
import Control
import Foundation
import Pipeline
import Tables
import Wire

/// `dump-flows`: every compiled table entry as one line (match → action), its hits and the
/// object it comes from.
///
/// Hits: workers count each L2 slot, FIB entry and neighbour slot of the snapshot they run
/// in the snapshot's own per-worker blocks (`DataplaneSnapshot.hits`: no shared write). When
/// a snapshot is retired (after its grace period, so its counts are final) its counts are
/// added, by the entry's identity (network and MAC, router and prefix, network and
/// address), to `HitTotals`; a line shows those plus the live snapshot's. An entry's count
/// starts when the entry is first compiled and ends when it is gone. Tunnels, security
/// rules and operator flows show the counters they already keep.
///
/// Thread safety: control thread only (retire runs inside `publish`, on it too).
final class HitTotals: @unchecked Sendable {
  var totals: [String: (packets: UInt64, bytes: UInt64)] = [:]
  /// Set by the controller once it exists: adds a retired snapshot's counts.
  var absorb: ((DataplaneSnapshot) -> Void)?
}

extension DataplaneController {
  /// One counted entry of a snapshot: its identity, the first of its two hit counters, and
  /// the line it shows as.
  struct CountedEntry {
    var key: String
    var counter: Int
    var row: DumpFlowRow
  }

  /// Adds the counts of a retired snapshot (its numbering is still `assignment`: publish
  /// adopts the new one after the retire).
  func absorbHits(_ s: DataplaneSnapshot) {
    var next: [String: (packets: UInt64, bytes: UInt64)] = [:]
    for e in countedEntries(s) {
      let t = s.hitTotals(e.counter), old = hitTotals.totals[e.key] ?? (0, 0)
      next[e.key] = (old.packets &+ t.packets, old.bytes &+ t.bytes)
    }
    hitTotals.totals = next          // entries gone from the retired snapshot are forgotten
  }

  /// The L2, FIB and neighbour entries of `s` with their counters.
  func countedEntries(_ s: DataplaneSnapshot) -> [CountedEntry] {
    let a = assignment
    let domains = a.domains.keys, routerIfs = a.routerInterfaces.keys, tunnels = a.tunnels.keys, vrfs = a.vrfs.keys, fibKeys = a.fib.keys
    func network(_ d: Int) -> String { domains[d] ?? "domain \(d)" }
    // Indexed once: a lookup per L2 entry that scanned every port was quadratic (2.7 s of a
    // commit at 10,000 ports).
    struct NetworkMAC: Hashable { var network: String; var mac: MACAddress }
    let portsByMAC = Dictionary(state.ports.values.map { (NetworkMAC(network: $0.network, mac: $0.mac), $0.id) }) { a, b in min(a, b) }
    func portWithMAC(_ net: String, _ mac: MACAddress) -> String? { portsByMAC[NetworkMAC(network: net, mac: mac)] }
    var out: [CountedEntry] = []
    for e in s.l2.table.slotEntries {
      let net = network(Int(e.key >> 48)), mac = MACAddress(rawValue: e.key & 0xffff_ffff_ffff), v = UInt32(truncatingIfNeeded: e.value)
      let index = Int(v & L2Value.interfaceMask)
      var action: String, object: String
      if v & L2Value.router != 0 {
        let ri = routerIfs[index] ?? "router ?"
        action = v & L2Value.snat != 0 ? "snat-in2out (router \(ri.split(separator: " ").first ?? ""))" : "ip4-input (router interface \(ri))"
        object = "router \(ri.split(separator: " ").first ?? "")"
      } else if v & L2Value.remote != 0 {
        action = tunnels[index].map { "vxlan-encap to \($0)" } ?? "remote, no tunnel"
        object = portWithMAC(net, mac).map { "port \($0)" } ?? "fdb"
      } else {
        action = (v & L2Value.filtered != 0 ? "acl-ingress, " : "") + "output:\(interfaceName(index))"
        object = v & L2Value.learned != 0 ? "learned" + (v & L2Value.stale != 0 ? " (stale)" : "")
          : portWithMAC(net, mac).map { "port \($0)" } ?? "fdb \(mac)"
      }
      out.append(CountedEntry(key: "l2 \(net) \(mac)", counter: 2 * e.slot,
                              row: DumpFlowRow(table: "l2", match: "network=\(net),dl_dst=\(mac)", action: action, object: object,
                                               packets: nil, bytes: nil)))
    }
    let r = s.routing
    for f in 0..<r.fibCount {
      let origin = r.fibOrigin[f]
      var router = "", prefix = "", object = ""
      if origin & RoutingTables.adjacencyOrigin != 0 {
        let d = Int(origin >> 32 & 0xffff), ip = IPv4Address(UInt32(truncatingIfNeeded: origin))
        let ri = Int(r.domainInterface[d])
        router = ri >= 0 ? vrfs[Int(r.interfaces[ri].vrf)] ?? "?" : "?"
        prefix = "\(ip)/32"
        object = "neighbor \(ip) on \(network(d))"
      } else if origin & RoutingTables.receiveOrigin != 0 {
        router = vrfs[Int(origin >> 32 & 0xffff)] ?? "?"
        prefix = "\(IPv4Address(UInt32(truncatingIfNeeded: origin)))/32"
        object = "router \(router) address"
      } else if let key = fibKeys[f] {
        let parts = key.split(separator: " ").map(String.init)
        router = parts[0]
        if parts.count == 3 && parts[0] == "drg" {
          router = "DRG \(state.drgAttachments[parts[1]]?.drg ?? "?")"
          prefix = parts[2]
          object = "DRG route table of attachment \(parts[1]) rule \(prefix)"
        } else if parts.count == 3 && parts[0] == "rt" {
          router = state.routeTables[parts[1]]?.router ?? "?"
          prefix = parts[2]
          object = "route table \(parts[1]) rule \(prefix)"
        } else if parts.count == 3 && parts[1] == "block" {
          prefix = parts[2]
          object = "router \(router) CIDR block \(prefix)"
        } else if parts.count == 3 && parts[2] == "connected" {
          prefix = state.routers[router]?.interfaces.first { $0.network == parts[1] }.map { "\($0.subnet)" } ?? "?"
          object = "router \(router) interface on \(parts[1])"
        } else if parts.count == 2 && parts[1] == "external" {
          prefix = "0.0.0.0/0"
          object = "router \(router) gateway"
        } else {
          prefix = parts.count > 1 ? parts[1] : "?"
          object = "router \(router) route \(prefix)"
        }
      } else {
        continue        // a hole: no route has this number now
      }
      let target = r.fibInterface[f]
      var action: String
      if target == RoutingTables.receive {
        action = "ip4-local"
      } else if target == RoutingTables.external {
        action = "ip4-external"
      } else if target == RoutingTables.crossing {
        action = "lookup in table \(r.fibGateway[f]) (peering)"
      } else if target == RoutingTables.unreachable {
        action = "drop: ip4-no-route (local, on no subnet)"
      } else if target == RoutingTables.peeringDown {
        action = "drop: peering-down"
      } else {
        let net = routerIfs[Int(target)].map { String($0.split(separator: " ").last ?? "") } ?? "?"
        if r.fibNeighbor[f] != 0 {
          action = "rewrite dl_dst=\(MACAddress(rawValue: r.fibNeighbor[f] & 0xffff_ffff_ffff)) on \(net)"
        } else if r.fibGateway[f] != 0 {
          action = "via \(IPv4Address(r.fibGateway[f])) on \(net)"
        } else {
          action = "connected \(net): neighbor lookup"
        }
      }
      out.append(CountedEntry(key: "fib \(router) \(prefix)" + (origin & RoutingTables.adjacencyOrigin != 0 ? " adjacency" : ""),
                              counter: s.fibHitBase + 2 * f,
                              row: DumpFlowRow(table: "fib", match: "router=\(router),nw_dst=\(prefix)", action: action, object: object,
                                               packets: nil, bytes: nil)))
    }
    for e in r.neighbors.slotEntries {
      let d = Int(e.key >> 32 & 0xffff), ip = IPv4Address(UInt32(truncatingIfNeeded: e.key)), net = network(d)
      let mac = MACAddress(rawValue: e.value & 0xffff_ffff_ffff), index = Int(e.value >> 48 & 0x3fff)
      let whereTo = e.value & RoutingTables.neighborTunnel != 0 ? "vxlan-encap to \(tunnels[index].map { "\($0)" } ?? "?")"
        : "output:\(interfaceName(index))"
      out.append(CountedEntry(key: "nbr \(net) \(ip)", counter: s.neighborHitBase + 2 * e.slot,
                              row: DumpFlowRow(table: "neighbors", match: "network=\(net),nw_dst=\(ip)",
                                               action: "dl_dst=\(mac), \(whereTo)", object: portWithMAC(net, mac).map { "port \($0)" } ?? "?",
                                               packets: nil, bytes: nil)))
    }
    return out
  }

  func dumpFlows(_ f: DumpFlowsFilter) throws(ControlError) -> [DumpFlowRow] {
    if let n = f.network, state.networks[n] == nil { throw ControlError("not-found", "no network '\(n)'") }
    if let r = f.router, state.routers[r] == nil { throw ControlError("not-found", "no router '\(r)'") }
    let s = tables.snapshot()
    var rows: [DumpFlowRow] = []
    var byKey: [String: (UInt64, UInt64)] = [:]
    for e in countedEntries(s) {
      let live = s.hitTotals(e.counter), old = hitTotals.totals[e.key] ?? (0, 0)
      byKey[e.key] = (old.packets &+ live.packets, old.bytes &+ live.bytes)
      var row = e.row
      (row.packets, row.bytes) = (old.packets &+ live.packets, old.bytes &+ live.bytes)
      rows.append(row)
    }
    // A neighbour's routed packets are counted by its adjacency (a /32 FIB entry of the
    // router on its network) when it has one, else by its own slot: its line shows both.
    var adjacency: [String: (UInt64, UInt64)] = [:]      // "network ip" → hits
    for (k, v) in byKey where k.hasPrefix("fib ") && k.hasSuffix(" adjacency") {
      let parts = k.split(separator: " ").map(String.init)      // fib ROUTER IP/32 adjacency
      guard parts.count == 4, let r = state.routers[parts[1]] else { continue }
      let ip = String(parts[2].dropLast(3))
      for i in r.interfaces { adjacency["\(i.network) \(ip)"] = v }
    }
    for i in rows.indices where rows[i].table == "neighbors" {
      let fields = rows[i].match.split(separator: ",").map { String($0.split(separator: "=").last ?? "") }
      if let v = adjacency["\(fields[0]) \(fields[1])"] {
        rows[i].packets = (rows[i].packets ?? 0) &+ v.0
        rows[i].bytes = (rows[i].bytes ?? 0) &+ v.1
      }
    }
    for t in showTunnels() {
      rows.append(DumpFlowRow(table: "tunnels", match: "vxlan_remote=\(t.remote),vni=\(t.vnis.map(String.init).joined(separator: "|"))",
                              action: "encap, underlay next hop \(t.nextHop) \(t.nextHopMAC ?? "unresolved")",
                              object: "networks \(t.networks.joined(separator: ","))", packets: t.txPackets, bytes: t.txBytes))
    }
    for (kind, groups) in [("sg", showSecurityGroups().map { ($0.id, $0.rules) }), ("seclist", showSecurityLists().map { ($0.id, $0.rules) })] {
      for (id, rules) in groups {
        for rule in rules {
          rows.append(DumpFlowRow(table: "acl", match: "\(rule.direction),\(rule.kind),proto=\(rule.proto),ports=\(rule.ports),remote=\(rule.remote)",
                                  action: rule.kind == "stateless" ? "allow" : "allow, track", object: "\(kind) \(id) rule \(rule.id)",
                                  packets: rule.hits, bytes: nil))
        }
      }
    }
    for fl in showFlows() {
      rows.append(DumpFlowRow(table: "flows", match: "priority=\(fl.priority),\(fl.match)", action: fl.action, object: "flow \(fl.id)",
                              packets: fl.packets, bytes: fl.bytes))
    }
    let order = DumpFlowsFilter.tables
    return rows.filter { row in
      if let t = f.table, row.table != t { return false }
      if let n = f.network, !(row.match.contains("network=\(n),") || row.action.contains(" on \(n)") || row.object.contains(n)) { return false }
      if let r = f.router, !(row.match.contains("router=\(r),") || row.object.contains("router \(r)")) { return false }
      return true
    }.sorted { (order.firstIndex(of: $0.table)!, $0.match) < (order.firstIndex(of: $1.table)!, $1.match) }
  }
}
