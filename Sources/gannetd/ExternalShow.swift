import Control
import Foundation
import Pipeline
import Tables
import Wire

/// `show fips`, `show gateways`, `show nat` and `show sessions`: the external network as
/// this node sees it. Control thread; sessions are read from the worker-owned connection
/// table through its seqlock, never by stopping the worker.
extension DataplaneController {
  func showFloatingIPs() -> [[String: Any]] {
    let served = servedAddresses(state)
    return state.floatingIPs.values.sorted { $0.address < $1.address }.map { f in
      var o: [String: Any] = ["ip": f.address.description, "port": f.port ?? "-", "fixed_ip": f.fixedIP?.description ?? "-"]
      if let pid = f.port, let p = state.ports[pid] {
        o["router"] = state.router(ofPort: pid)?.id ?? "-"
        o["location"] = p.location.description
      }
      o["hosted_here"] = served[f.address] != nil
      return o
    }
  }

  func showGateways() -> [[String: Any]] {
    let counts = sessionCounts()
    return state.routers.keys.sorted().compactMap { id -> [String: Any]? in
      guard let g = state.routers[id]!.gateway else { return nil }
      var o: [String: Any] = ["router": id, "external_ip": "\(g.externalIP)/\(g.prefixLength)", "upstream": g.upstream.description,
                              "mac": g.mac.description, "snat_node": g.snatNode.description, "snat_here": isSNATNode(g),
                              "port_range": "\(g.portLow)-\(g.portHigh)"]
      if let m = uplink?.resolvedMAC(g.upstream) {
        o["upstream_mac"] = m.description
      } else {
        o["upstream_mac"] = upstreamTargets(state)[g.upstream] == nil ? "not needed here" : "unresolved"
      }
      if isSNATNode(g) { o.merge(counts[g.externalIP] ?? ["sessions": 0]) { a, _ in a } }
      return o
    }
  }

  /// Per external IP: sessions by protocol and the ports they use (a port serves one session
  /// per remote endpoint, so a port range is full per remote endpoint, not in total).
  func sessionCounts() -> [IPv4Address: [String: Any]] {
    var bySIP: [UInt32: (total: Int, proto: [UInt8: Int], ports: [UInt8: Set<UInt16>])] = [:]
    let now = NATClock.now()
    for s in sessions.allSessions() where !sessions.isExpired(s, now: now) {
      var e = bySIP[s.externalIP] ?? (0, [:], [:])
      e.total += 1
      e.proto[s.proto, default: 0] += 1
      e.ports[s.proto, default: []].insert(s.externalPort)
      bySIP[s.externalIP] = e
    }
    var out: [IPv4Address: [String: Any]] = [:]
    for (ip, e) in bySIP {
      out[IPv4Address(ip)] = ["sessions": e.total, "tcp_sessions": e.proto[6] ?? 0, "udp_sessions": e.proto[17] ?? 0,
                              "icmp_sessions": e.proto[1] ?? 0, "tcp_ports_in_use": e.ports[6]?.count ?? 0,
                              "udp_ports_in_use": e.ports[17]?.count ?? 0, "icmp_ids_in_use": e.ports[1]?.count ?? 0]
    }
    return out
  }

  func showNAT() -> [String: Any] {
    let t = sessions.currentTimeouts
    var perIP: [[String: Any]] = []
    for (ip, c) in sessionCounts().sorted(by: { $0.key < $1.key }) { perIP.append(["external_ip": ip.description].merging(c) { a, _ in a }) }
    return ["capacity": sessions.capacity, "live": sessions.stat(.live), "created": sessions.stat(.created),
            "expired": sessions.stat(.expired), "ports_exhausted": sessions.stat(.portsExhausted),
            "table_full": sessions.stat(.tableFull),
            "timeouts": ["tcp_established_s": t.tcpEstablished, "tcp_transitory_s": t.tcpTransitory, "udp_s": t.udp, "icmp_s": t.icmp],
            "external_ips": perIP]
  }

  func showSessions(_ f: SessionFilter) throws(ControlError) -> [[String: Any]] {
    var routerIP: UInt32?
    if let id = f.router {
      guard let r = state.routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      guard let g = r.gateway else { return [] }
      routerIP = g.externalIP.value
    }
    let protoNumber: UInt8? = switch f.proto { case "tcp": 6; case "udp": 17; case "icmp": 1; default: nil }
    var names: [UInt32: String] = [:]
    for r in state.routers.values { if let g = r.gateway { names[g.externalIP.value] = r.id } }
    let now = NATClock.now()
    var rows: [[String: Any]] = []
    for s in sessions.allSessions() {
      guard !sessions.isExpired(s, now: now) else { continue }   // expired, not yet swept
      if let v = routerIP, s.externalIP != v { continue }
      if let v = f.insideIP, s.insideIP != v.value { continue }
      if let v = f.remoteIP, s.remoteIP != v.value { continue }
      if let v = f.externalIP, s.externalIP != v.value { continue }
      if let v = protoNumber, s.proto != v { continue }
      let proto = s.proto == 6 ? "tcp" : s.proto == 17 ? "udp" : "icmp"
      let timeout = sessions.timeout(s)
      rows.append(["router": names[s.externalIP] ?? "-", "proto": proto,
                   "inside": "\(IPv4Address(s.insideIP)):\(s.insidePort)", "external": "\(IPv4Address(s.externalIP)):\(s.externalPort)",
                   "remote": "\(IPv4Address(s.remoteIP)):\(s.remotePort)", "state": s.proto == 6 ? TCPState.name(s.tcp) : "-",
                   "age_s": Int(now &- s.created), "idle_s": Int(now &- s.lastSeen),
                   "expires_in_s": Int(timeout) - Int(now &- s.lastSeen),
                   "packets_out": s.packetsIn2Out, "packets_in": s.packetsOut2In])
      if rows.count >= f.limit { break }
    }
    return rows
  }
}
