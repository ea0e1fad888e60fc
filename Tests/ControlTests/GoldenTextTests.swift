import Control
import ControlText
import Foundation
import Testing
import Wire

/// What an operator reads: every gannetctl table and summary, rendered from fixed typed
/// replies and compared byte for byte with `golden/NAME.txt`. And the wire: the replies
/// encode to the documented JSON keys. To accept a deliberate change of the output, run
/// with GANNET_GOLDEN_UPDATE=1 and review the diff of `golden/`.
@Suite struct GoldenTextTests {
  static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("golden")

  func check(_ name: String, _ text: String) throws {
    let file = Self.dir.appendingPathComponent(name + ".txt")
    if ProcessInfo.processInfo.environment["GANNET_GOLDEN_UPDATE"] != nil {
      try text.write(to: file, atomically: true, encoding: .utf8)
      return
    }
    let golden = try String(contentsOf: file, encoding: .utf8)
    #expect(text == golden, "\(name): rendered\n\(text)\nexpected\n\(golden)")
  }

  static let networks = [
    NetworkRow(id: "net-a", tenant: "tenant-a", vni: 1001, mtu: 1450, mtuSource: "underlay_mtu", learning: false, bridgeDomain: 1, ports: 2),
    NetworkRow(id: "net-b", tenant: "tenant-b", vni: 1002, mtu: 8950, mtuSource: "network", learning: true, bridgeDomain: 2, ports: 0),
  ]
  static let ports = [
    {
      var p = PortRow(id: "vm-a1", network: "net-a", mac: "fa:16:3e:00:00:01", fixedIPs: ["10.0.0.1"], portSecurity: true, local: "af-packet:tap-a1",
                      status: "up", rxPackets: 12, txPackets: 9)
      p.acl = .init(ingressAllowed: 7, ingressDenied: 2, egressAllowed: 9, egressDenied: 0)
      return p
    }(),
    PortRow(id: "vm-a2", network: "net-a", mac: "fa:16:3e:00:00:02", fixedIPs: ["10.0.0.2", "10.0.0.3"], portSecurity: false,
            remote: "192.0.2.12", status: "remote"),
    PortRow(id: "vm-a3", network: "net-a", mac: "fa:16:3e:00:00:03", fixedIPs: [], portSecurity: true, local: "af-packet:gone0",
            status: "down: interface not open"),
  ]
  static let fdb = [
    FDBRow(network: "net-a", mac: "fa:16:3e:00:00:01", port: "vm-a1", kind: "port", location: "local af-packet:tap-a1"),
    FDBRow(network: "net-a", mac: "fa:16:3e:00:00:02", port: "vm-a2", kind: "port", location: "vxlan 192.0.2.12 vni 1001"),
    FDBRow(network: "net-b", mac: "02:00:00:00:00:99", port: "vm-b1", kind: "learned (stale)", location: "local af-packet:tap-b1"),
  ]
  static let tunnels = [
    TunnelRow(remote: "192.0.2.12", index: 0, nextHop: "192.0.2.12", nextHopMAC: "02:00:00:00:01:02", state: "resolved", networks: ["net-a"],
              vnis: [1001], snatFor: [], remotePorts: 1, rxPackets: 5, rxBytes: 490, txPackets: 6, txBytes: 588),
    TunnelRow(remote: "198.51.100.7", index: 1, nextHop: "192.0.2.1", nextHopMAC: nil, state: "unresolved", networks: ["net-a", "net-c"],
              vnis: [1001, 1003], snatFor: ["r1"], remotePorts: 0, rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0),
  ]
  static let routers = [RouterRow(id: "r1", tenant: "tenant-a", vrf: 0, interfaces: ["net-a 10.0.0.254/24 fa:16:3e:ff:01:00",
                                                                                     "net-c 10.3.0.1/24 fa:16:3e:ff:03:00"], routes: 1)]
  static let routes = [
    RouteRow(router: "r1", prefix: "10.0.0.0/24", kind: "connected", via: "-", network: "net-a", gateway: "10.0.0.254"),
    RouteRow(router: "r1", prefix: "10.9.0.0/16", kind: "static", via: "10.3.0.20", network: "net-c"),
    RouteRow(router: "r2", prefix: "10.5.0.0/24", kind: "connected", via: "-", network: "net-e", gateway: "10.5.0.1"),
  ]
  static let neighbors = [NeighborRow(router: "r1", network: "net-a", ip: "10.0.0.1", mac: "fa:16:3e:00:00:01", port: "vm-a1",
                                      location: "local af-packet:tap-a1")]
  static let counters = CountersReply(
    ports: [.init(port: "vm-a1", interface: "af-packet", rxPackets: 12, rxBytes: 1176, txPackets: 9, txBytes: 882,
                  rxSuperFrames: 2, txSuperFrames: 1)],
    nodes: [.init(node: "ethernet-input", vectors: 10, packets: 21, cyclesPerPacket: 118.25),
            .init(node: "l2-forward", vectors: 10, packets: 21, cyclesPerPacket: 40)])
  static let drops = [
    DropRow(location: "l2-input", reason: "l2-source-spoofed", code: 9, count: 3, description: "source MAC is not the port's (port security)"),
    DropRow(location: "port vm-a1", reason: "tx-mtu-exceeded", code: 205, count: 1, description: "frame longer than the interface MTU"),
  ]
  static let fips = [
    FloatingIPRow(ip: "203.0.113.20", port: "vm-a1", fixedIP: "10.0.0.1", router: "r1", location: "local af-packet:tap-a1", hostedHere: true),
    FloatingIPRow(ip: "203.0.113.21", port: "-", fixedIP: "-", hostedHere: false),
  ]
  static let gateways = [
    GatewayRow(router: "r1", externalIP: "203.0.113.10/24", upstream: "203.0.113.1", upstreamMAC: "02:00:00:00:00:fe", mac: "fa:16:3e:ee:00:01",
               snatNode: "192.0.2.11", snatHere: true, portRange: "1024-65535",
               counts: SessionCounts(sessions: 3, tcpSessions: 2, udpSessions: 1, tcpPortsInUse: 2, udpPortsInUse: 1)),
    GatewayRow(router: "r2", externalIP: "203.0.113.11/24", upstream: "203.0.113.1", upstreamMAC: "not needed here", mac: "fa:16:3e:ee:00:02",
               snatNode: "192.0.2.13", snatHere: false, portRange: "40000-40099"),
  ]
  static let runtime = RuntimeReply(workers: [
    .init(worker: 0, core: 2, rounds: 1_000_000, busyRounds: 250_000, idleShare: 0.731,
          nodes: [.init(node: "ethernet-input", vectors: 250_000, packets: 7_000_000, cyclesPerPacket: 11.2),
                  .init(node: "port-output", vectors: 250_000, packets: 7_000_000, cyclesPerPacket: 41.6)]),
    .init(worker: 1, core: nil, rounds: 900_000, busyRounds: 0, idleShare: 1, nodes: []),
  ])
  static let nat = NATReply(capacity: 1_048_576, live: 3, created: 10, expired: 7, portsExhausted: 1, tableFull: 0,
                            timeouts: .init(tcpEstablished: 7440, tcpTransitory: 240, udp: 300, icmp: 60),
                            externalIPs: [.init(externalIP: "203.0.113.10", counts: SessionCounts(sessions: 3, tcpSessions: 2, udpSessions: 1,
                                                                                                   tcpPortsInUse: 2, udpPortsInUse: 1))],
                            workers: [.init(worker: 0, capacity: 524_288, live: 2, created: 6, portsExhausted: 1, handedOff: 4),
                                      .init(worker: 1, capacity: 524_288, live: 1, created: 4, portsExhausted: 0, handedOff: 9)])
  static let sessions = [SessionRow(router: "r1", proto: "tcp", inside: "10.0.0.1:40000", external: "203.0.113.10:1024",
                                    remote: "198.51.100.1:443", state: "established", ageSeconds: 12, idleSeconds: 1, expiresInSeconds: 7439,
                                    packetsOut: 20, packetsIn: 18)]
  static var node: NodeReply {
    var u = NodeReply.Underlay(configured: true)
    u.interface = "af-packet:eth1"
    u.mac = "02:00:00:00:01:01"
    u.tunnelIP = "192.0.2.11/24"
    u.mtu = 1500
    u.arpRequestsSent = 4
    u.rxPackets = 100
    u.txPackets = 90
    u.neighbors = [.init(ip: "192.0.2.12", mac: "02:00:00:00:01:02")]
    return NodeReply(name: "compute-1", role: "compute", tunnelIP: "192.0.2.11", dvrHostMAC: "fa:16:3f:00:00:11", workers: 2, underlayMTU: 1500,
                     dpdk: "disabled", generation: 7, publishedGeneration: 9, controlProtocol: 1, learnedMACs: 1, learningRefusedAtLimit: 0,
                     learningEventsLost: 0, cores: "any", underlay: u)
  }
  static var state: ControlState {
    get throws {
      try ControlState(requests: [.networkCreate(Network(id: "net-a", tenant: "tenant-a", vni: 1001)),
                                  .portCreate(LogicalPort(id: "vm-a1", network: "net-a", mac: MACAddress(0xfa, 0x16, 0x3e, 0, 0, 1),
                                                          fixedIPs: [IPv4Address(10, 0, 0, 1)], location: .local("af-packet:tap-a1"),
                                                          portSecurity: true))])
    }
  }

  static let groups = [
    SecurityGroupRow(id: "web", tenant: "tenant-a", name: "web", ports: ["vm-a1", "vm-a2"], rules: [
      SecurityRuleRow(id: "ssh", direction: "ingress", kind: "stateful", proto: "tcp", ports: "22", sourcePorts: "any", remote: "10.0.0.0/8", hits: 4),
      SecurityRuleRow(id: "ping", direction: "ingress", kind: "stateful", proto: "icmp", ports: "type 8", sourcePorts: "any", remote: "group app",
                      hits: 0),
      SecurityRuleRow(id: "out", direction: "egress", kind: "stateful", proto: "any", ports: "any", sourcePorts: "any", remote: "any", hits: 17),
    ]),
    SecurityGroupRow(id: "default-a", tenant: "tenant-a", name: "default", ports: [], rules: []),
  ]
  static let lists = [SecurityListRow(id: "db", tenant: "tenant-a", networks: ["net-a"], rules: [
    SecurityRuleRow(id: "oracle", direction: "ingress", kind: "stateful", proto: "tcp", ports: "1521", sourcePorts: "any", remote: "10.20.0.0/16",
                    hits: 2),
    SecurityRuleRow(id: "dns", direction: "ingress", kind: "stateless", proto: "udp", ports: "53", sourcePorts: "1024-65535",
                    remote: "10.0.0.0/8", hits: 0),
  ])]
  static let conntrack = ConntrackReply(capacity: 262_144, live: 3, created: 9, expired: 5, revoked: 1, tableFull: 0, connections: [
    .init(port: "vm-a1", proto: "tcp", vm: "10.0.0.1:22", remote: "10.0.0.9:40000", opened: "in", state: "ESTABLISHED", idleSeconds: 1,
          expiresInSeconds: 431_999),
    .init(port: "vm-a1", proto: "udp", vm: "10.0.0.1:5000", remote: "10.0.0.9:53", opened: "out", state: "replied", idleSeconds: 3,
          expiresInSeconds: 117),
  ], matched: 3)

  @Test func securityOutputs() throws {
    try check("sg-list", Render.securityGroups(Self.groups))
    try check("sg-show", Render.securityGroup(Self.groups[0]))
    try check("seclist-list", Render.securityLists(Self.lists))
    try check("conntrack-list", Render.conntrack(Self.conntrack))
    try check("conntrack-count", Render.conntrackCount(Self.conntrack))
    try check("conntrack-flush", Render.conntrackFlushed(Self.conntrack))
  }

  @Test func everyCommandsOutput() throws {
    try check("change", Render.change(ChangeReply(generation: 42)))
    try check("show-node", Render.node(Self.node))
    try check("network-list", Render.networkList(Self.networks))
    try check("show-networks", Render.networks(Self.networks))
    try check("port-list", Render.portList(Self.ports))
    try check("show-ports", Render.ports(Self.ports))
    try check("show-fdb", Render.fdb(Self.fdb))
    try check("fdb-show-remote", Render.fdb(Self.fdb, network: "net-a", remoteOnly: true))
    try check("show-tunnels", Render.tunnels(Self.tunnels))
    try check("router-list", Render.routers(Self.routers))
    try check("router-show-route-r1", Render.routes(Self.routes, router: "r1"))
    try check("show-neighbors", Render.neighbors(Self.neighbors))
    try check("show-counters", Render.counters(Self.counters))
    try check("show-drops", Render.drops(Self.drops))
    try check("fip-list", Render.floatingIPs(Self.fips))
    try check("gateway-list", Render.gateways(Self.gateways))
    try check("show-nat", Render.nat(Self.nat))
    try check("show-runtime", Render.runtime(Self.runtime))
    try check("sessions", Render.sessions(Self.sessions))
    try check("show-state", Render.state(try Self.state))
    try check("empty-table", Render.drops([]))
  }

  /// The replies keep the documented JSON keys (scripts and `--json` users read them), and
  /// decode back to the same values.
  @Test func repliesKeepTheirWireKeys() throws {
    func keys(_ v: some Encodable) throws -> [String] {
      let o = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(v)) as? [String: Any]
      return (o?.keys.sorted()) ?? []
    }
    #expect(try keys(Self.gateways[0]) == ["external_ip", "icmp_ids_in_use", "icmp_sessions", "mac", "port_range", "router", "sessions",
                                           "snat_here", "snat_node", "tcp_ports_in_use", "tcp_sessions", "udp_ports_in_use", "udp_sessions",
                                           "upstream", "upstream_mac"])
    #expect(try keys(Self.gateways[1]) == ["external_ip", "mac", "port_range", "router", "snat_here", "snat_node", "upstream", "upstream_mac"])
    #expect(try keys(Self.tunnels[1]) == ["index", "networks", "next_hop", "remote", "remote_ports", "rx_bytes", "rx_packets", "snat_for",
                                          "state", "tx_bytes", "tx_packets", "vnis"])
    #expect(try keys(Self.drops[0]) == ["code", "count", "description", "reason", "where"])
    #expect(try keys(Self.networks[0]) == ["bridge_domain", "id", "learning", "mtu", "mtu_source", "ports", "tenant", "vni"])
    #expect(try keys(Self.node).contains("learning_refused_at_limit"))
    let reply = ControlReply(result: Self.gateways)
    let back = try JSONDecoder().decode(ControlReply<[GatewayRow]>.self, from: try JSONEncoder().encode(reply))
    #expect(back.result == Self.gateways && back.ok)
    let nat = try JSONDecoder().decode(NATReply.self, from: try JSONEncoder().encode(Self.nat))
    #expect(nat == Self.nat)
    let failure = try JSONEncoder().encode(ControlReply<ChangeReply>(error: ControlError("conflict", "VNI 1001 is used by network 'net-a'")))
    let o = try JSONSerialization.jsonObject(with: failure) as? [String: Any]
    #expect(o?["ok"] as? Bool == false && (o?["error"] as? [String: Any])?["code"] as? String == "conflict" && o?["result"] == nil)
  }
}
