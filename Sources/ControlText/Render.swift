import Control
import Foundation

/// One renderer per reply, named after the command that prints it.
public enum Render {
  public static func change(_ r: ChangeReply) -> String { "ok (generation \(r.generation))\n" }

  public static func node(_ r: NodeReply) -> String { keyValues(r) }

  /// `network list`.
  public static func networkList(_ rows: [NetworkRow]) -> String {
    var t = TextTable("NETWORK", "TENANT", "VNI", "MTU", "BD", "PORTS", "LEARNING")
    for n in rows { t.add([n.id, n.tenant, "\(n.vni)", "\(n.mtu)", "\(n.bridgeDomain)", "\(n.ports)", Cell.yesNo(n.learning)]) }
    return t.text
  }

  /// `show networks`.
  public static func networks(_ rows: [NetworkRow]) -> String {
    var t = TextTable("NETWORK", "TENANT", "VNI", "PORTS")
    for n in rows { t.add([n.id, n.tenant, "\(n.vni)", "\(n.ports)"]) }
    return t.text
  }

  /// `port list`.
  public static func portList(_ rows: [PortRow]) -> String {
    var t = TextTable("PORT", "NETWORK", "MAC", "IPS", "LOCATION", "STATUS", "RX", "TX", "ACL-IN", "ACL-OUT")
    for p in rows {
      t.add([p.id, p.network, p.mac, Cell.list(p.fixedIPs), p.local ?? p.remote ?? "-", p.status, Cell.opt(p.rxPackets), Cell.opt(p.txPackets),
             p.acl.map { "\($0.ingressAllowed)/\($0.ingressDenied)" } ?? "-", p.acl.map { "\($0.egressAllowed)/\($0.egressDenied)" } ?? "-"])
    }
    return t.text
  }

  /// `show ports`.
  public static func ports(_ rows: [PortRow]) -> String {
    var t = TextTable("PORT", "NETWORK", "MAC", "STATUS")
    for p in rows { t.add([p.id, p.network, p.mac, p.status]) }
    return t.text
  }

  /// `show fdb`, `fdb show [--network N] [--remote]`.
  public static func fdb(_ rows: [FDBRow], network: String? = nil, remoteOnly: Bool = false) -> String {
    var t = TextTable("NETWORK", "MAC", "PORT", "KIND", "LOCATION")
    for e in rows where (network == nil || e.network == network) && (!remoteOnly || e.location.hasPrefix("vxlan ")) {
      t.add([e.network, e.mac, e.port, e.kind, e.location])
    }
    return t.text
  }

  public static func tunnels(_ rows: [TunnelRow]) -> String {
    var t = TextTable("REMOTE-VTEP", "NEXT-HOP", "NEXT-HOP-MAC", "STATE", "VNIS", "PORTS", "RX-PKTS", "RX-BYTES", "TX-PKTS", "TX-BYTES")
    for r in rows {
      t.add([r.remote, r.nextHop, Cell.opt(r.nextHopMAC), r.state, Cell.list(r.vnis), "\(r.remotePorts)", "\(r.rxPackets)", "\(r.rxBytes)",
             "\(r.txPackets)", "\(r.txBytes)"])
    }
    return t.text
  }

  /// `show routers`, `router list`.
  public static func routers(_ rows: [RouterRow]) -> String {
    var t = TextTable("ROUTER", "TENANT", "VRF", "INTERFACES", "STATIC-ROUTES")
    for r in rows { t.add([r.id, r.tenant, "\(r.vrf)", Cell.list(r.interfaces), "\(r.routes)"]) }
    return t.text
  }

  /// `show routes`, `router show-route [R]`.
  public static func routes(_ rows: [RouteRow], router: String? = nil) -> String {
    var t = TextTable("ROUTER", "PREFIX", "KIND", "VIA", "NETWORK")
    for r in rows where router == nil || r.router == router { t.add([r.router, r.prefix, r.kind, r.via, r.network]) }
    return t.text
  }

  public static func neighbors(_ rows: [NeighborRow]) -> String {
    var t = TextTable("ROUTER", "NETWORK", "IP", "MAC", "PORT", "LOCATION")
    for n in rows { t.add([n.router, n.network, n.ip, n.mac, n.port, n.location]) }
    return t.text
  }

  public static func counters(_ r: CountersReply) -> String {
    var ports = TextTable("PORT", "BACKEND", "RX-PKTS", "RX-BYTES", "RX-SUPER", "TX-PKTS", "TX-BYTES", "TX-SUPER")
    for p in r.ports {
      ports.add([p.port, p.interface, "\(p.rxPackets)", "\(p.rxBytes)", "\(p.rxSuperFrames)", "\(p.txPackets)", "\(p.txBytes)",
                 "\(p.txSuperFrames)"])
    }
    var nodes = TextTable("NODE", "VECTORS", "PACKETS", "CYCLES/PKT")
    for n in r.nodes { nodes.add([n.node, "\(n.vectors)", "\(n.packets)", Cell.decimal(n.cyclesPerPacket)]) }
    return ports.text + "\n" + nodes.text
  }

  public static func drops(_ rows: [DropRow]) -> String {
    var t = TextTable("COUNT", "WHERE", "REASON", "CODE", "DESCRIPTION")
    for d in rows { t.add(["\(d.count)", d.location, d.reason, "\(d.code)", d.description]) }
    return t.text
  }

  /// `show fips`, `fip list`.
  public static func floatingIPs(_ rows: [FloatingIPRow]) -> String {
    var t = TextTable("FLOATING-IP", "PORT", "FIXED-IP", "ROUTER", "LOCATION", "HOSTED-HERE")
    for f in rows { t.add([f.ip, f.port, f.fixedIP, Cell.opt(f.router), Cell.opt(f.location), Cell.yesNo(f.hostedHere)]) }
    return t.text
  }

  /// `show gateways`, `gateway list`.
  public static func gateways(_ rows: [GatewayRow]) -> String {
    var t = TextTable("ROUTER", "EXTERNAL-IP", "UPSTREAM", "UPSTREAM-MAC", "SNAT-HERE", "SESSIONS")
    for g in rows { t.add([g.router, g.externalIP, g.upstream, g.upstreamMAC, Cell.yesNo(g.snatHere), Cell.opt(g.counts?.sessions)]) }
    return t.text
  }

  /// `show runtime`.
  public static func runtime(_ r: RuntimeReply) -> String {
    var out = ""
    for w in r.workers {
      out += "worker \(w.worker)\(w.core.map { " (core \($0))" } ?? ""): rounds \(w.rounds), busy \(w.busyRounds), "
        + String(format: "idle %.1f %%\n", w.idleShare * 100)
      var t = TextTable("NODE", "VECTORS", "PACKETS", "PACKETS/VECTOR", "CYCLES/PACKET")
      for n in w.nodes {
        t.add([n.node, "\(n.vectors)", "\(n.packets)", String(format: "%.1f", Double(n.packets) / Double(max(n.vectors, 1))),
               String(format: "%.1f", n.cyclesPerPacket)])
      }
      out += t.text + "\n"
    }
    return out
  }

  /// `show nat`.
  public static func nat(_ r: NATReply) -> String {
    var out = ""
    for (k, v) in [("capacity", UInt64(r.capacity)), ("live", r.live), ("created", r.created), ("expired", r.expired),
                   ("ports_exhausted", r.portsExhausted), ("table_full", r.tableFull)] {
      out += k.padding(toLength: 22, withPad: " ", startingAt: 0) + "\(v)\n"
    }
    let o = r.timeouts
    out += "timeouts              icmp_s=\(o.icmp) tcp_established_s=\(o.tcpEstablished) tcp_transitory_s=\(o.tcpTransitory) udp_s=\(o.udp)\n"
    var t = TextTable("EXTERNAL-IP", "SESSIONS", "TCP", "UDP", "ICMP", "TCP-PORTS", "UDP-PORTS", "ICMP-IDS")
    for e in r.externalIPs {
      let c = e.counts
      t.add([e.externalIP, "\(c.sessions)", "\(c.tcpSessions)", "\(c.udpSessions)", "\(c.icmpSessions)", "\(c.tcpPortsInUse)",
             "\(c.udpPortsInUse)", "\(c.icmpIDsInUse)"])
    }
    out += "\n" + t.text
    guard r.workers.count > 1 else { return out }
    var w = TextTable("WORKER", "CAPACITY", "LIVE", "CREATED", "PORTS-EXHAUSTED", "HANDED-OFF")
    for x in r.workers {
      w.add(["\(x.worker)", "\(x.capacity)", "\(x.live)", "\(x.created)", "\(x.portsExhausted)", "\(x.handedOff)"])
    }
    return out + "\n" + w.text
  }

  /// `sessions`, `show sessions`.
  public static func sessions(_ rows: [SessionRow]) -> String {
    var t = TextTable("ROUTER", "PROTO", "INSIDE", "EXTERNAL", "REMOTE", "STATE", "IDLE-S", "EXPIRES-S", "PKTS-OUT", "PKTS-IN")
    for s in rows {
      t.add([s.router, s.proto, s.inside, s.external, s.remote, s.state, "\(s.idleSeconds)", "\(s.expiresInSeconds)", "\(s.packetsOut)",
             "\(s.packetsIn)"])
    }
    return t.text
  }

  /// `show state`: the configuration as persisted (sorted, indented JSON).
  public static func state(_ s: ControlState) -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return ((try? enc.encode(s)).map { String(decoding: $0, as: UTF8.self) } ?? "") + "\n"
  }
}
