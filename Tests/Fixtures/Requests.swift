import Control
import Wire

/// Short forms of the control requests fixtures are built from (the same values the
/// control protocol parses into).
public enum Make {
  public static func network(_ id: String, vni: UInt32, tenant: String = "t", mtu: Int? = nil, learning: Bool = false,
                             lists: [String] = []) -> ControlRequest {
    .networkCreate(Network(id: id, tenant: tenant, vni: vni, mtu: mtu, learning: learning, securityLists: lists))
  }
  /// A port: local on `null:ID` unless `remote` is given.
  public static func port(_ id: String, on network: String, mac: MACAddress, ips: [IPv4Address] = [], security: Bool = true,
                          remote: IPv4Address? = nil, groups: [String] = []) -> ControlRequest {
    .portCreate(LogicalPort(id: id, network: network, mac: mac, fixedIPs: ips, location: remote.map { .remote($0) } ?? .local("null:\(id)"),
                            portSecurity: security, securityGroups: groups))
  }
  public static func group(_ id: String, tenant: String = "t") -> ControlRequest { .securityGroupCreate(SecurityGroup(id: id, tenant: tenant)) }
  /// A security-group rule: `direction`, protocol (nil: any), destination ports, remote CIDR or group.
  public static func rule(_ group: String, _ id: String, _ direction: TrafficDirection, proto: UInt8? = nil, ports: ClosedRange<Int>? = nil,
                          cidr: IPv4Prefix? = nil, remoteGroup: String? = nil) -> ControlRequest {
    .securityGroupRuleAdd(group: group, SecurityGroupRule(id: id, direction: direction,
                                                          match: L4Match(proto: proto, portMin: ports?.lowerBound, portMax: ports?.upperBound),
                                                          remoteCIDR: cidr, remoteGroup: remoteGroup))
  }
  public static func list(_ id: String, tenant: String = "t") -> ControlRequest { .securityListCreate(SecurityList(id: id, tenant: tenant)) }
  /// A security-list rule: remote `cidr` (source of ingress, destination of egress).
  public static func listRule(_ list: String, _ id: String, _ direction: TrafficDirection, stateless: Bool, cidr: IPv4Prefix,
                              proto: UInt8? = nil, ports: ClosedRange<Int>? = nil) -> ControlRequest {
    .securityListRuleAdd(list: list, SecurityListRule(id: id, direction: direction, stateless: stateless, cidr: cidr,
                                                      match: L4Match(proto: proto, portMin: ports?.lowerBound, portMax: ports?.upperBound)))
  }
  public static func fdb(_ network: String, _ mac: MACAddress, port: String) -> ControlRequest {
    .fdbAdd(FDBEntry(network: network, mac: mac, port: port))
  }
  public static func router(_ id: String, tenant: String = "t") -> ControlRequest { .routerCreate(id: id, tenant: tenant) }
  /// Router interface `address/length` with gateway MAC `mac` on `network`.
  public static func interface(_ router: String, _ network: String, _ address: IPv4Address, _ length: Int, mac: MACAddress) -> ControlRequest {
    .routerInterfaceAdd(router: router, RouterInterface(network: network, address: address, prefixLength: length, mac: mac))
  }
  public static func route(_ router: String, _ prefix: IPv4Prefix, via nextHop: IPv4Address) -> ControlRequest {
    .routerRouteAdd(router: router, StaticRoute(prefix: prefix, nextHop: nextHop))
  }
  public static func chassis(_ tunnelIP: IPv4Address, dvrMAC: MACAddress) -> ControlRequest {
    .chassisSet(Chassis(tunnelIP: tunnelIP, dvrMAC: dvrMAC))
  }
  public static func gateway(_ router: String, _ g: ExternalGateway) -> ControlRequest { .routerGatewaySet(router: router, g) }
  public static func floatingIP(_ address: IPv4Address, port: String, fixedIP: IPv4Address) -> ControlRequest {
    .floatingIPCreate(FloatingIP(address: address, port: port, fixedIP: fixedIP))
  }
}
