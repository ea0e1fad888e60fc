import Buffers
import Compiler
import Control
import Foundation
import Pipeline
import Tables
import Wire

/// `show security_groups`, `show security_lists`, `show conntrack` and `conntrack flush`.
/// Control thread; the connection table is read while workers use it (an entry removed
/// meanwhile is simply not shown).
extension DataplaneController {
  /// Connections a rule admitted, summed over workers, since its number was given to it.
  func hits(_ key: String) -> UInt64 {
    guard let n = assignment.rules[key] else { return 0 }
    return ruleBaselines.since(n, [ruleHits(n)])[0]
  }

  /// A filtered local port's admitted and refused packets, since its interface index was
  /// given to it; nil for a port that is not filtered.
  func aclPortCounters(_ port: String) -> PortRow.ACLCounters? {
    guard assignment.zones[port] != nil, let i = assignment.interfaces[.port(port)] else { return nil }
    let c = interfaceBaselines.since(i, interfacePackets(i))
    return .init(ingressAllowed: c[0], ingressDenied: c[1], egressAllowed: c[2], egressDenied: c[3])
  }

  private func ruleHits(_ n: Int) -> UInt64 { aclCounters.reduce(0) { $0 &+ $1.hits(n) } }

  private func interfacePackets(_ i: Int) -> [UInt64] {
    aclCounters.reduce([0, 0, 0, 0]) { zip($0, $1.packets(interface: i)).map { $0 &+ $1 } }
  }

  /// After a publish: rule numbers and interface indices given out by this generation start
  /// from what their counters hold now (a freed index keeps counting for nobody).
  func adoptACLBaselines(generation: UInt64) {
    ruleBaselines.adopt(assignment.rules, generation: generation) { [ruleHits($0)] }
    interfaceBaselines.adopt(assignment.interfaces, generation: generation, read: interfacePackets)
  }

  func showSecurityGroups() -> [SecurityGroupRow] {
    state.securityGroups.values.sorted { $0.id < $1.id }.map { g in
      SecurityGroupRow(id: g.id, tenant: g.tenant, name: g.name,
                       ports: state.ports.values.filter { $0.groups.contains(g.id) }.map(\.id).sorted(),
                       rules: g.rules.map { r in
                         SecurityRuleRow(id: r.id, direction: r.direction.rawValue, kind: "stateful", proto: r.match.protocolName,
                                         ports: r.match.portsText, sourcePorts: r.match.sourcePortsText,
                                         remote: r.remoteCIDR?.description ?? r.remoteGroup.map { "group \($0)" } ?? "any",
                                         hits: hits("sg \(g.id) \(r.id)"))
                       })
    }
  }

  func showSecurityLists() -> [SecurityListRow] {
    state.securityLists.values.sorted { $0.id < $1.id }.map { l in
      SecurityListRow(id: l.id, tenant: l.tenant, networks: state.networks.values.filter { $0.securityLists.contains(l.id) }.map(\.id).sorted(),
                      rules: l.rules.map { r in
                        SecurityRuleRow(id: r.id, direction: r.direction.rawValue, kind: r.stateless ? "stateless" : "stateful",
                                        proto: r.match.protocolName, ports: r.match.portsText, sourcePorts: r.match.sourcePortsText,
                                        remote: r.cidr.description, hits: hits("seclist \(l.id) \(r.id)"))
                      })
    }
  }

  /// Matching connections (up to the filter's limit) or, with `flush`, removes them.
  func conntrack(_ f: ConntrackFilter, flush: Bool) throws(ControlError) -> ConntrackReply {
    var zone: Int?
    if let p = f.port {
      guard state.ports[p] != nil else { throw ControlError("not-found", "no port '\(p)'") }
      zone = assignment.zones[p] ?? -1
    }
    let portOfZone = assignment.zones.keys
    let now = NATClock.now()
    var rows: [ConntrackReply.Connection] = []
    var matched = 0
    for slot in 0..<conntrack.capacity {
      guard let e = conntrack.entry(slot) else { continue }
      if let zone, Int(e.zone) != zone { continue }
      if let p = f.proto, e.proto != p { continue }
      if flush {
        if conntrack.remove(e, as: .revoked) { matched += 1 }
        continue
      }
      matched += 1
      guard rows.count < f.limit else { continue }
      let ports = e.proto == IPProtocol.tcp || e.proto == IPProtocol.udp || e.proto == IPProtocol.icmp
      func side(_ ip: UInt32, _ port: UInt16) -> String { ports ? "\(IPv4Address(ip)):\(port)" : "\(IPv4Address(ip))" }
      let state = e.proto == IPProtocol.tcp ? TCPTracking.names[min(Int(e.tcpState), TCPTracking.names.count - 1)]
        : e.state & ConnTrack.replySeen != 0 ? "replied" : "unreplied"
      let idle = e.lastSeen <= now ? Int(now - e.lastSeen) : 0
      rows.append(.init(port: portOfZone[Int(e.zone)] ?? "-", proto: L4Match(proto: e.proto).protocolName, vm: side(e.vmIP, e.vmPort),
                        remote: side(e.remoteIP, e.remotePort), opened: e.state & ConnTrack.openedByVM != 0 ? "out" : "in", state: state,
                        idleSeconds: idle, expiresInSeconds: Int(config.conntrackTimeouts.timeout(proto: e.proto, state: e.state)) - idle))
    }
    return ConntrackReply(capacity: conntrack.capacity, live: conntrack.stat(.live), created: conntrack.stat(.created),
                          expired: conntrack.stat(.expired), revoked: conntrack.stat(.revoked), tableFull: conntrack.stat(.tableFull),
                          connections: rows, matched: matched)
  }
}
