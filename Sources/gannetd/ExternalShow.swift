import Control
import Foundation
import Pipeline
import Tables
import Wire

/// `show fips`, `show gateways`, `show nat` and `show sessions`: the external network as
/// this node sees it. Control thread; sessions are read from the worker-owned connection
/// table through its seqlock, never by stopping the worker.
extension DataplaneController {
  func showFloatingIPs() -> [FloatingIPRow] {
    let served = servedAddresses(state)
    return state.floatingIPs.values.sorted { $0.address < $1.address }.map { f in
      var o = FloatingIPRow(ip: f.address.description, port: f.port ?? "-", fixedIP: f.fixedIP?.description ?? "-",
                            hostedHere: served[f.address] != nil)
      if let pid = f.port, let p = state.ports[pid] {
        o.router = state.router(ofPort: pid)?.id ?? "-"
        o.location = p.location.description
      }
      return o
    }
  }

  func showGateways() -> [GatewayRow] {
    let counts = sessionCounts()
    return state.routers.keys.sorted().compactMap { id -> GatewayRow? in
      guard let g = state.routers[id]!.gateway else { return nil }
      let upstreamMAC = uplink?.resolvedMAC(g.upstream)?.description
        ?? (upstreamTargets(state)[g.upstream] == nil ? "not needed here" : "unresolved")
      return GatewayRow(router: id, externalIP: "\(g.externalIP)/\(g.prefixLength)", upstream: g.upstream.description, upstreamMAC: upstreamMAC,
                        mac: g.mac.description, snatNode: g.snatNode.description, snatHere: isSNATNode(g), portRange: "\(g.portLow)-\(g.portHigh)",
                        counts: isSNATNode(g) ? counts[g.externalIP] ?? SessionCounts() : nil)
    }
  }

  /// Per external IP: sessions by protocol and the ports they use (a port serves one session
  /// per remote endpoint, so a port range is full per remote endpoint, not in total).
  func sessionCounts() -> [IPv4Address: SessionCounts] {
    var bySIP: [UInt32: (total: Int, proto: [UInt8: Int], ports: [UInt8: Set<UInt16>])] = [:]
    let now = NATClock.now()
    for s in sessions.allSessions() where !sessions.isExpired(s, now: now) {
      var e = bySIP[s.externalIP] ?? (0, [:], [:])
      e.total += 1
      e.proto[s.proto, default: 0] += 1
      e.ports[s.proto, default: []].insert(s.externalPort)
      bySIP[s.externalIP] = e
    }
    var out: [IPv4Address: SessionCounts] = [:]
    for (ip, e) in bySIP {
      out[IPv4Address(ip)] = SessionCounts(sessions: e.total, tcpSessions: e.proto[6] ?? 0, udpSessions: e.proto[17] ?? 0,
                                           icmpSessions: e.proto[1] ?? 0, tcpPortsInUse: e.ports[6]?.count ?? 0,
                                           udpPortsInUse: e.ports[17]?.count ?? 0, icmpIDsInUse: e.ports[1]?.count ?? 0)
    }
    return out
  }

  func showNAT() -> NATReply {
    let t = sessions.currentTimeouts
    return NATReply(capacity: sessions.capacity, live: UInt64(sessions.stat(.live)), created: UInt64(sessions.stat(.created)),
                    expired: UInt64(sessions.stat(.expired)), portsExhausted: UInt64(sessions.stat(.portsExhausted)),
                    tableFull: UInt64(sessions.stat(.tableFull)),
                    timeouts: .init(tcpEstablished: Int(t.tcpEstablished), tcpTransitory: Int(t.tcpTransitory), udp: Int(t.udp), icmp: Int(t.icmp)),
                    externalIPs: sessionCounts().sorted { $0.key < $1.key }.map { .init(externalIP: $0.key.description, counts: $0.value) },
                    workers: sessions.tables.enumerated().map { w, t in
                      .init(worker: w, capacity: t.capacity, live: t.stat(.live), created: t.stat(.created), portsExhausted: t.stat(.portsExhausted),
                            handedOff: w < nodeCounters.count ? nodeCounters[w].packets(.natHandoff) : 0)
                    })
  }

  func showSessions(_ f: SessionFilter) throws(ControlError) -> [SessionRow] {
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
    var rows: [SessionRow] = []
    for s in sessions.allSessions() {
      guard !sessions.isExpired(s, now: now) else { continue }   // expired, not yet swept
      if let v = routerIP, s.externalIP != v { continue }
      if let v = f.insideIP, s.insideIP != v.value { continue }
      if let v = f.remoteIP, s.remoteIP != v.value { continue }
      if let v = f.externalIP, s.externalIP != v.value { continue }
      if let v = protoNumber, s.proto != v { continue }
      let proto = s.proto == 6 ? "tcp" : s.proto == 17 ? "udp" : "icmp"
      let timeout = sessions.timeout(s)
      rows.append(SessionRow(router: names[s.externalIP] ?? "-", proto: proto, inside: "\(IPv4Address(s.insideIP)):\(s.insidePort)",
                             external: "\(IPv4Address(s.externalIP)):\(s.externalPort)", remote: "\(IPv4Address(s.remoteIP)):\(s.remotePort)",
                             state: s.proto == 6 ? TCPState.name(s.tcp) : "-", ageSeconds: Int(now &- s.created),
                             idleSeconds: Int(now &- s.lastSeen), expiresInSeconds: Int(timeout) - Int(now &- s.lastSeen),
                             packetsOut: UInt64(s.packetsIn2Out), packetsIn: UInt64(s.packetsOut2In)))
      if rows.count >= f.limit { break }
    }
    return rows
  }
}
