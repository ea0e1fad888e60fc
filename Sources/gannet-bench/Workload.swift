import Compiler
import Control
import Foundation
import IO
import Pipeline
import Wire

/// A shared workload (`shared/workloads/gen_workloads.py`): its pcap and the forwarding
/// state the data plane needs for it, derived from the same manifest the pcaps came from.
struct Workload {
  let name: String
  var pcap: String
  let packets: Int
  /// The cloud this workload runs in, as control requests (the manifest's topology).
  var requests: [ControlRequest] = []
  /// The node the bench plays: its underlay, uplink and resolved neighbours.
  var node = NodeFacts(tunnelIP: IPv4Address(192, 0, 2, 250), dvrHostMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 0xfa))
  /// The interface the pcap is replayed on, and the one whose transmitted packets count.
  var input = "in"
  var output = "out"
  /// W6: the ports are filtered. Their frames come from many VM MACs (the pcap's), so the
  /// anti-spoofing check of port security is turned off in the compiled tables: W6 measures
  /// the filter and the connection tracking, not the MAC check.
  var filtered = false

  /// W6 with `n` ingress rules (n − 1 narrow ones, then the allow rule) instead of the
  /// manifest's 100; `stateless`: as a stateless security list on the network instead of a
  /// group, so that every packet is classified (nothing is tracked) — the classifier's cost.
  func withACLRules(_ n: Int, stateless: Bool) -> Workload {
    var w = self
    let net = IPv4Prefix(IPv4Address(10, 1, 0, 0), 24), wide = IPv4Prefix(IPv4Address(10, 0, 0, 0), 8)
    var security: [ControlRequest] = []
    func rule(_ i: Int) -> (TrafficDirection, L4Match, IPv4Prefix) {
      // The others overlap the traffic's addresses and protocol (UDP from 10.1.0.0/24 and
      // 10.0.0.0/8, one port each), so they split the key space the lookups search.
      i == n - 1 ? (.ingress, L4Match(proto: 17), net)
        : (.ingress, L4Match(proto: 17, portMin: 1000 + i % 60000, portMax: 1000 + i % 60000), i % 2 == 0 ? net : wide)
    }
    if stateless {
      security.append(.securityListCreate(SecurityList(id: "w6", tenant: "t")))
      security.append(.securityListRuleAdd(list: "w6", SecurityListRule(id: "out", direction: .egress, stateless: true, cidr: IPv4Prefix(IPv4Address(0), 0))))
      for i in 0..<n {
        let (d, m, c) = rule(i)
        security.append(.securityListRuleAdd(list: "w6", SecurityListRule(id: "r\(i)", direction: d, stateless: true, cidr: c, match: m)))
      }
    } else {
      security.append(.securityGroupCreate(SecurityGroup(id: "w6", tenant: "t")))
      security.append(.securityGroupRuleAdd(group: "w6", SecurityGroupRule(id: "out", direction: .egress)))
      for i in 0..<n {
        let (d, m, c) = rule(i)
        security.append(.securityGroupRuleAdd(group: "w6", SecurityGroupRule(id: "r\(i)", direction: d, match: m, remoteCIDR: c)))
      }
    }
    var rest = requests.filter {
      switch $0 { case .securityGroupCreate, .securityGroupRuleAdd: false; default: true }
    }
    if stateless {
      rest = rest.map { r in
        switch r {
        case .networkCreate(var net):
          net.securityLists = ["w6"]
          return .networkCreate(net)
        case .portCreate(var p):
          p.securityGroups = []
          return .portCreate(p)
        default: return r
        }
      }
    }
    w.requests = security + rest
    return w
  }

  /// The data plane for this workload, compiled from `requests`: the input port polled,
  /// the output port a sink (polled by nobody: it only sinks).
  /// With `workers` > 1, worker w polls RX queue w of the input.
  func snapshot(input inPort: IO.Port, output outPort: IO.Port, workers: Int = 1) throws -> DataplaneSnapshot {
    let ports = [input: inPort, output: outPort]
    let s = try ControlState(requests: requests)
    var node = node
    node.openAttachments = Set(s.localAttachments.values)
    var c = try DataplaneCompiler.compile(s, node: node, generation: 1)
    let polled = c.assignment.interfaces.index.filter { $0.key.portName == input }.map(\.value)
    c.poll = (0..<workers).map { q in polled.map { PollEntry($0, firstQueue: q, queueStep: workers) } }
    if filtered { for i in c.interfaces.indices { c.interfaces[i]?.info.portSecurity = false } }
    return c.snapshot { ports[$0.key.portName]! }
  }

  /// Reads `manifest.json` in `directory` and derives the tables for `name`.
  static func load(_ name: String, directory: String) throws -> Workload {
    let manifestPath = directory + "/manifest.json"
    guard let data = FileManager.default.contents(atPath: manifestPath) else {
      throw BenchError("no \(manifestPath); generate the workloads first: tools/workloads.sh \(directory)")
    }
    guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let workloads = root["workloads"] as? [String: Any], let topology = root["topology"] as? [String: Any] else {
      throw BenchError("\(manifestPath): not a workload manifest")
    }
    // W7 (issue 16) is W2's pcap in a peered topology: it is not in the shared manifest.
    guard let w = workloads[name == "w7" ? "w2" : name] as? [String: Any], let file = w["file"] as? String, let packets = w["packets"] as? Int else {
      throw BenchError("\(manifestPath) has no workload '\(name)' (has: \(workloads.keys.sorted().joined(separator: ", ")))")
    }
    // VM MAC rule of the manifest: 10.A.B.C -> fa:16:3e:0A:0B:0C.
    func w1MACs() throws -> [MACAddress] {
      guard let vms = topology["w1_vms"] as? [String] else { throw BenchError("manifest: topology.w1_vms missing") }
      return try vms.map { ip -> MACAddress in
        guard let a = IPv4Address(ip) else { throw BenchError("manifest: bad VM address \(ip)") }
        return MACAddress(0xfa, 0x16, 0x3e, UInt8(truncatingIfNeeded: a.value >> 16),
                          UInt8(truncatingIfNeeded: a.value >> 8), UInt8(truncatingIfNeeded: a.value))
      }
    }
    func vtep(_ key: String) throws -> (IPv4Address, MACAddress) {
      guard let pair = topology[key] as? [String], pair.count == 2, let ip = IPv4Address(pair[0]), let mac = MACAddress(pair[1]) else {
        throw BenchError("manifest: topology.\(key) is not [IPv4, MAC]")
      }
      return (ip, mac)
    }
    let base = Workload(name: name, pcap: directory + "/" + file, packets: packets)
    let vni = topology["vni"] as? Int ?? 1001
    switch name {
    case "w1":
      // One network; every VM MAC of the manifest is behind the output port.
      return base.with(l2: try w1MACs(), vni: vni)
    case "w6":
      // W1's traffic; both ports in one stateful security group (the manifest's policy:
      // anything out; in, 99 TCP rules that never match and UDP from 10.1.0.0/24), so each
      // packet is checked and tracked on egress of "in" and ingress of "out".
      guard let w = workloads[name] as? [String: Any], let policy = w["policy"] as? [String: Any],
            let group = policy["security_group"] as? [String: Any] else { throw BenchError("manifest: workloads.w6.policy missing") }
      var v = base.with(l2: try w1MACs(), vni: vni, security: ["w6"])
      var rules: [ControlRequest] = [.securityGroupCreate(SecurityGroup(id: "w6", tenant: "t"))]
      for (direction, key) in [(TrafficDirection.egress, "egress"), (.ingress, "ingress")] {
        for (i, r) in (group[key] as? [[String: Any]] ?? []).enumerated() {
          guard let p = L4Match.proto(r["protocol"] as? String ?? "any") else { throw BenchError("manifest: w6 rule protocol") }
          let m = L4Match(proto: p, portMin: r["port_min"] as? Int, portMax: r["port_max"] as? Int)
          rules.append(.securityGroupRuleAdd(group: "w6", SecurityGroupRule(id: "\(key)-\(i)", direction: direction, match: m,
                                                                            remoteCIDR: (r["remote_cidr"] as? String).flatMap(IPv4Prefix.init))))
        }
      }
      v.requests = rules + v.requests
      v.filtered = true
      return v
    case "w5":
      // The input port is the VXLAN underlay; the frames come from the remote VTEP, which
      // hosts a port of the network, and their inner MACs are behind the output port.
      let (localIP, localMAC) = try vtep("local_vtep"), (remoteIP, remoteMAC) = try vtep("remote_vtep")
      var v = base.with(l2: try w1MACs(), vni: vni, input: nil)
      v.requests.append(.portCreate(LogicalPort(id: "peer", network: "net", mac: MACAddress(2, 0, 0, 0, 2, 2), fixedIPs: [],
                                                location: .remote(remoteIP), portSecurity: false)))
      // The remote VTEP is on the underlay subnet: its MAC is the next hop's (as ARP resolves it).
      v.node.tunnelIP = localIP
      v.node.underlay = .init(mac: localMAC, localIP: localIP, prefixLength: 24)
      v.node.underlayNeighbors = [remoteIP: remoteMAC]
      v.input = "underlay"
      return v
    case "w2":
      // One router joining 10.1.0.0/24 (input port) and 10.2.0.0/24, whose VMs 10.2.0.2-254
      // are fixed IPs of the output port (gateway MACs by the manifest's rule).
      var v = base
      v.requests = [.routerCreate(id: "r", tenant: "t")]
      for (n, port) in [(1, "in"), (2, "out")] {
        v.requests += [
          .networkCreate(Network(id: "net\(n)", tenant: "t", vni: UInt32(vni + n), learning: false, learningLimit: 0, agingSeconds: 300)),
          .routerInterfaceAdd(router: "r", RouterInterface(network: "net\(n)", address: IPv4Address(10, UInt8(n), 0, 1), prefixLength: 24,
                                                           mac: MACAddress(0xfa, 0x16, 0x3e, 0xff, UInt8(n), 0))),
          .portCreate(LogicalPort(id: port, network: "net\(n)", mac: MACAddress(2, 0, 0, 0, 0, UInt8(n)),
                                  fixedIPs: n == 2 ? (2...254).map { IPv4Address(10, 2, 0, UInt8($0)) } : [],
                                  location: .local("null:\(port)"), portSecurity: false)),
        ]
      }
      return v
    case "w7":
      // W2's packets, with 10.1.0.0/24 and 10.2.0.0/24 subnets of two VCNs (10.1.0.0/16 and
      // 10.2.0.0/16) peered through a hub VCN: VCNA's subnet table sends 10.2.0.0/16 to its
      // LPG to the hub, whose LPG table sends it on to VCNB (two crossings per packet).
      var v = base
      v.requests = [.routerCreate(id: "VCNA", tenant: "t"), .routerCreate(id: "VCNB", tenant: "t"), .routerCreate(id: "Hub", tenant: "t"),
                    .peering(.cidrAdd(router: "VCNA", IPv4Prefix(IPv4Address(10, 1, 0, 0), 16))),
                    .peering(.cidrAdd(router: "VCNB", IPv4Prefix(IPv4Address(10, 2, 0, 0), 16))),
                    .peering(.cidrAdd(router: "Hub", IPv4Prefix(IPv4Address(10, 11, 0, 0), 16)))]
      for (n, port, router) in [(1, "in", "VCNA"), (2, "out", "VCNB")] {
        v.requests += [
          .networkCreate(Network(id: "net\(n)", tenant: "t", vni: UInt32(vni + n), learning: false, learningLimit: 0, agingSeconds: 300)),
          .routerInterfaceAdd(router: router, RouterInterface(network: "net\(n)", address: IPv4Address(10, UInt8(n), 0, 1), prefixLength: 24,
                                                              mac: MACAddress(0xfa, 0x16, 0x3e, 0xff, UInt8(n), 0))),
          .portCreate(LogicalPort(id: port, network: "net\(n)", mac: MACAddress(2, 0, 0, 0, 0, UInt8(n)),
                                  fixedIPs: n == 2 ? (2...254).map { IPv4Address(10, 2, 0, UInt8($0)) } : [],
                                  location: .local("null:\(port)"), portSecurity: false)),
        ]
      }
      let lpgs = [("LA", "VCNA"), ("HA", "Hub"), ("HB", "Hub"), ("LB", "VCNB")]
      v.requests += lpgs.map { .peering(.lpgCreate(id: $0.0, router: $0.1)) }
      v.requests += [.peering(.lpgConnect(id: "LA", peer: "HA")), .peering(.lpgConnect(id: "LB", peer: "HB")),
                     .peering(.tableCreate(id: "a-rt", router: "VCNA")), .peering(.tableCreate(id: "ha-rt", router: "Hub")),
                     .peering(.ruleAdd(table: "a-rt", RouteRule(destination: IPv4Prefix(IPv4Address(10, 2, 0, 0), 16), target: .lpg("LA")))),
                     .peering(.ruleAdd(table: "ha-rt", RouteRule(destination: IPv4Prefix(IPv4Address(10, 2, 0, 0), 16), target: .lpg("HB")))),
                     .peering(.associate(table: "a-rt", .network("net1"))), .peering(.associate(table: "ha-rt", .lpg("HA")))]
      return v
    case "w3", "w4":
      // One router on 10.1.0.0/16 (gateway MAC fa:16:3e:ff:01:00), its external gateway
      // (the manifest's port MAC, SNAT address and ports; this node is its SNAT node), the
      // upstream MAC resolved. W3: 203.0.113.I → 10.1.(I/64).(10 + I%64), fixed IPs of the
      // VM port; input = the uplink. W4: input = the VM port, output = the uplink.
      guard let up = (topology["upstream_mac"] as? String).flatMap(MACAddress.init), let ext = (topology["ext_gw_mac"] as? String).flatMap(MACAddress.init),
            let snat = (topology["snat_ip"] as? String).flatMap(IPv4Address.init), let range = topology["snat_ports"] as? [Int], range.count == 2
      else { throw BenchError("manifest: topology.upstream_mac, ext_gw_mac, snat_ip or snat_ports missing") }
      let w3 = name == "w3"
      let fixed = (0..<256).map { i in IPv4Address(10, 1, UInt8(i / 64), UInt8(10 + i % 64)) }
      // The floating IPs' /24 and the SNAT address share one external /23 in W3 (203.0.113.0
      // and .255 are then host addresses); W4 uses the SNAT address's /24.
      let externalIP = w3 ? IPv4Address(203, 0, 112, 1) : snat, upstream = w3 ? IPv4Address(203, 0, 112, 254) : IPv4Address(snat.value & ~0xff | 0xfe)
      var v = base
      v.requests = [
        .networkCreate(Network(id: "net", tenant: "t", vni: UInt32(vni), learning: false, learningLimit: 0, agingSeconds: 300)),
        .routerCreate(id: "r", tenant: "t"),
        .routerInterfaceAdd(router: "r", RouterInterface(network: "net", address: IPv4Address(10, 1, 0, 1), prefixLength: 16,
                                                         mac: MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 0))),
        .portCreate(LogicalPort(id: "vm", network: "net", mac: MACAddress(0xfa, 0x16, 0x3e, 1, 0, 10), fixedIPs: w3 ? fixed : [],
                                location: .local("null:vm"), portSecurity: false)),
        .routerGatewaySet(router: "r", ExternalGateway(externalIP: externalIP, prefixLength: w3 ? 23 : 24, upstream: upstream, mac: ext,
                                                       snatNode: v.node.tunnelIP, portLow: range[0], portHigh: range[1])),
      ]
      if w3 {
        for (i, f) in fixed.enumerated() {
          v.requests.append(.floatingIPCreate(FloatingIP(address: IPv4Address(203, 0, 113, UInt8(i)), port: "vm", fixedIP: f)))
        }
      }
      v.node.role = .network
      v.node.uplink = .init(mac: ext)
      v.node.upstreamNeighbors = [upstream: up]
      (v.input, v.output) = w3 ? ("uplink", "vm") : ("vm", "uplink")
      return v
    default:
      throw BenchError("workload '\(name)' needs a pipeline Gannet does not have yet (w1: L2, w2: routing, w3: floating IP, w4: SNAT, w5: VXLAN decap + L2, w6: security groups, w7: W2 through two peerings)")
    }
  }
}

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}

extension Workload {
  /// One network whose VM MACs (`macs`) are static entries behind the output port, and the
  /// input port on it (unless `input` is nil: the input is then the underlay).
  func with(l2 macs: [MACAddress], vni: Int, input: String? = "in", security groups: [String] = []) -> Workload {
    var w = self
    w.requests = [.networkCreate(Network(id: "net", tenant: "t", vni: UInt32(vni), learning: false, learningLimit: 0, agingSeconds: 300))]
    for id in [input, "out"].compactMap({ $0 }) {
      w.requests.append(.portCreate(LogicalPort(id: id, network: "net", mac: MACAddress(2, 0, 0, 0, 1, id == "out" ? 2 : 1), fixedIPs: [],
                                                location: .local("null:\(id)"), portSecurity: !groups.isEmpty, securityGroups: groups)))
    }
    w.requests += macs.map { .fdbAdd(FDBEntry(network: "net", mac: $0, port: "out")) }
    return w
  }
}
