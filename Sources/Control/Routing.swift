import Foundation
import Wire

/// A router's interface on one tenant network (Neutron router interface on a subnet): the
/// gateway IP with the subnet's prefix length, and the gateway MAC that every node uses
/// for it (DVR: the same gateway everywhere).
public struct RouterInterface: Codable, Equatable, Sendable {
  public var network: String
  /// Gateway IP and subnet length, e.g. 10.1.0.1/24.
  public var address: IPv4Address
  public var prefixLength: Int
  public var mac: MACAddress
  /// The route table of this subnet (`Peering.swift`); nil: the router's main table.
  public var routeTable: String?
  public init(network: String, address: IPv4Address, prefixLength: Int, mac: MACAddress, routeTable: String? = nil) {
    self.routeTable = routeTable
    self.network = network
    self.address = address
    self.prefixLength = prefixLength
    self.mac = mac
  }
  public var subnet: IPv4Prefix { IPv4Prefix(address, prefixLength) }
}

/// A static route of a router: `prefix` via `nextHop`, an address on a connected subnet.
public struct StaticRoute: Codable, Equatable, Sendable {
  public var prefix: IPv4Prefix
  public var nextHop: IPv4Address
  public init(prefix: IPv4Prefix, nextHop: IPv4Address) {
    self.prefix = prefix
    self.nextHop = nextHop
  }
}

/// A tenant router, distributed: every node routes its own VMs' traffic with a copy of it.
/// Each router is its own routing domain (VRF), so tenants' CIDRs overlap freely.
public struct Router: Codable, Equatable, Sendable {
  public var id: String
  public var tenant: String
  public var interfaces: [RouterInterface] = []
  public var routes: [StaticRoute] = []
  /// External gateway (north-south: floating IPs and SNAT), if any.
  public var gateway: ExternalGateway?
  /// CIDR blocks (a VCN): its subnets lie inside them and they never overlap; every route
  /// table of the router treats them as local (`Peering.swift`). Empty: no constraint.
  public var cidrBlocks: [IPv4Prefix] = []
  public init(id: String, tenant: String, cidrBlocks: [IPv4Prefix] = []) {
    self.id = id
    self.tenant = tenant
    self.cidrBlocks = cidrBlocks
  }
  enum CodingKeys: String, CodingKey { case id, tenant, interfaces, routes, gateway, cidrBlocks }
  /// State files written before CIDR blocks existed load with none.
  public init(from d: Decoder) throws {
    let c = try d.container(keyedBy: CodingKeys.self)
    id = try c.decode(String.self, forKey: .id)
    tenant = try c.decode(String.self, forKey: .tenant)
    interfaces = try c.decode([RouterInterface].self, forKey: .interfaces)
    routes = try c.decode([StaticRoute].self, forKey: .routes)
    gateway = try c.decodeIfPresent(ExternalGateway.self, forKey: .gateway)
    cidrBlocks = try c.decodeIfPresent([IPv4Prefix].self, forKey: .cidrBlocks) ?? []
  }
}

/// Another node, as the DVR data plane needs to know it: frames it routes onto the overlay
/// carry its DVR host MAC as source, which this node replaces with the gateway MAC before
/// delivering them (Neutron's DVR MAC table).
public struct Chassis: Codable, Equatable, Sendable {
  public var tunnelIP: IPv4Address
  public var dvrMAC: MACAddress
  public init(tunnelIP: IPv4Address, dvrMAC: MACAddress) {
    self.tunnelIP = tunnelIP
    self.dvrMAC = dvrMAC
  }
}

extension ControlState {
  /// Checks and applies one routing change (part of `apply`).
  mutating func applyRouting(_ r: ControlRequest) throws(ControlError) {
    switch r {
    case .routerCreate(let id, let tenant):
      guard routers[id] == nil else { throw ControlError("exists", "router '\(id)' exists") }
      routers[id] = Router(id: id, tenant: tenant)
    case .routerDelete(let id):
      guard routers[id] != nil else { throw ControlError("not-found", "no router '\(id)'") }
      try checkRouterUnused(id)
      routers[id] = nil
    case .routerInterfaceAdd(let id, let i):
      guard var router = routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      guard let net = networks[i.network] else { throw ControlError("not-found", "no network '\(i.network)'") }
      guard net.tenant == router.tenant else {
        throw ControlError("conflict", "network '\(i.network)' belongs to tenant '\(net.tenant)', router '\(id)' to '\(router.tenant)'")
      }
      if let other = routers.values.first(where: { $0.interfaces.contains { $0.network == i.network } }) {
        throw ControlError("conflict", "network '\(i.network)' is already attached to router '\(other.id)'")
      }
      guard (1...30).contains(i.prefixLength) else { throw .bad("router.interface.add: prefix length must be 1…30") }
      guard i.mac.isUnicast, i.mac != .zero else { throw .bad("router.interface.add: \(i.mac) is not a unicast MAC") }
      if let o = router.interfaces.first(where: { $0.subnet.overlaps(i.subnet) }) {
        throw ControlError("conflict", "subnet \(i.subnet) overlaps \(o.subnet) of network '\(o.network)' on router '\(id)'")
      }
      if let p = ports.values.first(where: { $0.network == i.network && ($0.fixedIPs.contains(i.address) || $0.mac == i.mac) }) {
        throw ControlError("conflict", "gateway \(i.address) / \(i.mac) is used by port '\(p.id)'")
      }
      router.interfaces.append(i)
      try checkRouterPeering(router)
      routers[id] = router
    case .routerInterfaceRemove(let id, let network):
      guard var router = routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      guard let k = router.interfaces.firstIndex(where: { $0.network == network }) else {
        throw ControlError("not-found", "router '\(id)' has no interface on network '\(network)'")
      }
      let subnet = router.interfaces[k].subnet
      if let r = router.routes.first(where: { subnet.contains($0.nextHop) }) {
        throw ControlError("in-use", "route \(r.prefix) via \(r.nextHop) uses this interface")
      }
      router.interfaces.remove(at: k)
      try checkRouterPeering(router)
      routers[id] = router
    case .routerRouteAdd(let id, let route):
      guard var router = routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      guard route.nextHop.isUnicastHost else { throw .bad("router.route.add: next hop \(route.nextHop) is not a unicast host address") }
      guard router.interfaces.contains(where: { $0.subnet.contains(route.nextHop) }) else {
        throw ControlError("conflict", "next hop \(route.nextHop) is on no subnet of router '\(id)'")
      }
      guard !router.routes.contains(where: { $0.prefix == route.prefix }) else {
        throw ControlError("exists", "router '\(id)' already has a route for \(route.prefix)")
      }
      router.routes.append(route)
      routers[id] = router
    case .routerRouteDelete(let id, let prefix):
      guard var router = routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      guard let k = router.routes.firstIndex(where: { $0.prefix == prefix }) else {
        throw ControlError("not-found", "router '\(id)' has no route for \(prefix)")
      }
      router.routes.remove(at: k)
      routers[id] = router
    case .chassisSet(let c):
      guard c.dvrMAC.isUnicast, c.dvrMAC != .zero else { throw .bad("chassis.set: \(c.dvrMAC) is not a unicast MAC") }
      guard c.tunnelIP.isUnicastHost else { throw .bad("chassis.set: tunnel IP \(c.tunnelIP) is not a unicast host address") }
      chassis.removeAll { $0.tunnelIP == c.tunnelIP }
      chassis.append(c)
      chassis.sort { $0.tunnelIP < $1.tunnelIP }
    case .chassisDelete(let ip):
      guard chassis.contains(where: { $0.tunnelIP == ip }) else { throw ControlError("not-found", "no chassis \(ip)") }
      chassis.removeAll { $0.tunnelIP == ip }
    default:
      throw .bad("not a routing request")
    }
  }

  /// The router a network is attached to, and its interface there.
  public func routerInterface(of network: String) -> (router: Router, interface: RouterInterface)? {
    for r in routers.values { if let i = r.interfaces.first(where: { $0.network == network }) { return (r, i) } }
    return nil
  }
}
