import Compiler
import Control
import IO
import Pipeline
import Tables
import Wire

/// The node fuzz-frames runs and the graph declaration tests replay frames through.
public enum FuzzCloud {
  static let vmA = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 10), vmB = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 11)
  static let vmC = MACAddress(0xfa, 0x16, 0x3e, 2, 0, 12), gw1 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 0)
  static let gw2 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 2, 0), uplinkMAC = MACAddress(2, 0, 0, 0, 0xe, 1)
  static let upstreamMAC = MACAddress(2, 0, 0, 0, 0, 0xfe), gatewayPortMAC = MACAddress(0xfa, 0x16, 0x3e, 0xee, 0, 1)
  static let underlayMAC = MACAddress(2, 0, 0, 0, 1, 1), peerMAC = MACAddress(2, 0, 0, 0, 1, 2)
  static let remoteVM = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 20)

  /// Ports: 0 VM 10.1.0.10 (SNAT), 1 VM 10.1.0.11 (floating IP 203.0.113.5), 2 the uplink,
  /// 3 the underlay (VTEP 192.0.2.11, one tunnel to 192.0.2.12), 4 VM 10.2.0.12 without port
  /// security on a learning network. One router with 10.1.0.1/24 and 10.2.0.1/24, a static
  /// route, an external gateway 203.0.113.10 whose SNAT runs here; 10.1.0.20 is behind the
  /// tunnel.
  public static let names = ["a", "b", "uplink", "underlay", "c"]

  public static var requests: [ControlRequest] { cloud.requests }
  public static var node: NodeFacts { cloud.node }

  static var cloud: (requests: [ControlRequest], node: NodeFacts) {
    func port(_ id: String, _ net: String, _ mac: MACAddress, _ ip: IPv4Address, security: Bool = true,
              remote: IPv4Address? = nil, groups: [String] = []) -> ControlRequest {
      .portCreate(LogicalPort(id: id, network: net, mac: mac, fixedIPs: [ip], location: remote.map { .remote($0) } ?? .local("null:\(id)"),
                              portSecurity: security, securityGroups: groups))
    }
    let peer = IPv4Address(192, 0, 2, 12), upstream = IPv4Address(203, 0, 113, 1)
    let requests: [ControlRequest] = [
      // Security: a is in group g1 (SSH and ICMP in, anything out); n1's list l1 admits DNS
      // statelessly and TCP out statefully (it filters b, which has no group).
      .securityGroupCreate(SecurityGroup(id: "g1", tenant: "t")),
      .securityGroupRuleAdd(group: "g1", SecurityGroupRule(id: "ssh", direction: .ingress, match: L4Match(proto: 6, portMin: 22, portMax: 22))),
      .securityGroupRuleAdd(group: "g1", SecurityGroupRule(id: "icmp", direction: .ingress, match: L4Match(proto: 1))),
      .securityGroupRuleAdd(group: "g1", SecurityGroupRule(id: "out", direction: .egress)),
      .securityListCreate(SecurityList(id: "l1", tenant: "t")),
      .securityListRuleAdd(list: "l1", SecurityListRule(id: "dns", direction: .ingress, stateless: true, cidr: IPv4Prefix(IPv4Address(10, 0, 0, 0), 8),
                                                        match: L4Match(proto: 17, portMin: 53, portMax: 53))),
      .securityListRuleAdd(list: "l1", SecurityListRule(id: "tcp-out", direction: .egress, stateless: false,
                                                        cidr: IPv4Prefix(IPv4Address(0), 0), match: L4Match(proto: 6))),
      .networkCreate(Network(id: "n1", tenant: "t", vni: 100, securityLists: ["l1"])), .networkCreate(Network(id: "n2", tenant: "t", vni: 200, learning: true)),
      port("a", "n1", vmA, IPv4Address(10, 1, 0, 10), groups: ["g1"]), port("b", "n1", vmB, IPv4Address(10, 1, 0, 11)),
      port("c", "n2", vmC, IPv4Address(10, 2, 0, 12), security: false),
      port("r1", "n1", remoteVM, IPv4Address(10, 1, 0, 20), remote: peer),
      port("r2", "n2", MACAddress(0xfa, 0x16, 0x3e, 2, 0, 20), IPv4Address(10, 2, 0, 20), remote: peer),
      .chassisSet(Chassis(tunnelIP: peer, dvrMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 12))),
      .routerCreate(id: "r", tenant: "t"),
      .routerInterfaceAdd(router: "r", RouterInterface(network: "n1", address: IPv4Address(10, 1, 0, 1), prefixLength: 24, mac: gw1)),
      .routerInterfaceAdd(router: "r", RouterInterface(network: "n2", address: IPv4Address(10, 2, 0, 1), prefixLength: 24, mac: gw2)),
      .routerRouteAdd(router: "r", StaticRoute(prefix: IPv4Prefix(IPv4Address(10, 9, 0, 0), 16), nextHop: IPv4Address(10, 2, 0, 12))),
      .routerGatewaySet(router: "r", ExternalGateway(externalIP: IPv4Address(203, 0, 113, 10), prefixLength: 24, upstream: upstream,
                                                     mac: gatewayPortMAC, snatNode: IPv4Address(192, 0, 2, 11), portLow: 1024, portHigh: 1100)),
      .floatingIPCreate(FloatingIP(address: IPv4Address(203, 0, 113, 5), port: "b", fixedIP: IPv4Address(10, 1, 0, 11))),
    ]
    var node = NodeFacts(role: .network, tunnelIP: IPv4Address(192, 0, 2, 11), dvrHostMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 11))
    node.underlay = .init(mac: underlayMAC, localIP: IPv4Address(192, 0, 2, 11), prefixLength: 24)
    node.underlayNeighbors = [peer: peerMAC]
    node.uplink = .init(mac: uplinkMAC)
    node.upstreamNeighbors = [upstream: upstreamMAC]
    return (requests, node)
  }

  /// A rig of this node.
  /// Two workers by default, so that SNAT packets of the other worker's sessions take
  /// nat-handoff too.
  public static func rig(poolSize: Int = 1024, workers: Int = 2) throws -> Rig {
    try Rig(requests, node: node, names: names, poolSize: poolSize, sessions: SessionTable(capacity: 4096), workers: workers)
  }
}
