import Foundation
import Wire

/// A router's external gateway (Neutron's router gateway port, "qg-"): its address on the
/// external network, the upstream gateway there (its MAC is resolved by ARP on every node
/// that sends to it), the gateway port's MAC, the node that does the router's SNAT (a
/// network node's tunnel IP) and the external ports SNAT may use.
public struct ExternalGateway: Codable, Equatable, Sendable {
  public var externalIP: IPv4Address
  public var prefixLength: Int
  public var upstream: IPv4Address
  public var mac: MACAddress
  public var snatNode: IPv4Address
  public var portLow: Int
  public var portHigh: Int
  public init(externalIP: IPv4Address, prefixLength: Int, upstream: IPv4Address, mac: MACAddress, snatNode: IPv4Address,
              portLow: Int = 1024, portHigh: Int = 65535) {
    self.externalIP = externalIP
    self.prefixLength = prefixLength
    self.upstream = upstream
    self.mac = mac
    self.snatNode = snatNode
    self.portLow = portLow
    self.portHigh = portHigh
  }
  public var subnet: IPv4Prefix { IPv4Prefix(externalIP, prefixLength) }
}

/// A floating IP: a public address mapped 1:1 to one fixed IP of a port, handled on the
/// node that hosts the port (DVR). Unassociated floating IPs are reserved, nothing more.
public struct FloatingIP: Codable, Equatable, Sendable {
  public var address: IPv4Address
  public var port: String?
  public var fixedIP: IPv4Address?
  public init(address: IPv4Address, port: String? = nil, fixedIP: IPv4Address? = nil) {
    self.address = address
    self.port = port
    self.fixedIP = fixedIP
  }
}

extension ControlState {
  /// Checks and applies one external-network change (part of `apply`).
  mutating func applyExternal(_ r: ControlRequest) throws(ControlError) {
    switch r {
    case .routerGatewaySet(let id, let g):
      guard var router = routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      guard (1...30).contains(g.prefixLength) else { throw .bad("router.gateway.set: prefix length must be 1…30") }
      let subnet = g.subnet
      let host = ~IPv4Prefix.mask(g.prefixLength)
      for (name, a) in [("external_ip", g.externalIP), ("upstream", g.upstream)] {
        guard subnet.contains(a), a.value & host != 0, a.value & host != host else {
          throw .bad("router.gateway.set: field '\(name)': \(a) is not a host address of \(subnet)")
        }
      }
      guard g.snatNode.isUnicastHost else { throw .bad("router.gateway.set: SNAT node \(g.snatNode) is not a unicast host address") }
      guard g.upstream != g.externalIP else { throw .bad("router.gateway.set: upstream and external IP are the same") }
      guard g.mac.isUnicast, g.mac != .zero else { throw .bad("router.gateway.set: \(g.mac) is not a unicast MAC") }
      guard (1...65535).contains(g.portLow), g.portLow <= g.portHigh, g.portHigh <= 65535 else {
        throw .bad("router.gateway.set: field 'port_range': \(g.portLow)-\(g.portHigh) is not a range within 1-65535")
      }
      if let other = routers.values.first(where: { $0.id != id && $0.gateway?.externalIP == g.externalIP }) {
        throw ControlError("conflict", "external IP \(g.externalIP) is router '\(other.id)''s")
      }
      if floatingIPs[g.externalIP.description] != nil {
        throw ControlError("conflict", "external IP \(g.externalIP) is a floating IP")
      }
      for f in floatingIPs.values where f.port != nil && self.router(ofPort: f.port!)?.id == id && !subnet.contains(f.address) {
        throw ControlError("conflict", "floating IP \(f.address) of port '\(f.port!)' is not on \(subnet)")
      }
      router.gateway = g
      routers[id] = router
    case .routerGatewayClear(let id):
      guard var router = routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      guard router.gateway != nil else { throw ControlError("not-found", "router '\(id)' has no external gateway") }
      if let f = floatingIPs.values.first(where: { $0.port != nil && self.router(ofPort: $0.port!)?.id == id }) {
        throw ControlError("in-use", "floating IP \(f.address) is associated with port '\(f.port!)' behind router '\(id)'")
      }
      router.gateway = nil
      try checkRouterPeering(router)
      routers[id] = router
    case .floatingIPCreate(let f):
      guard floatingIPs[f.address.description] == nil else { throw ControlError("exists", "floating IP \(f.address) exists") }
      if let r = routers.values.first(where: { $0.gateway?.externalIP == f.address }) {
        throw ControlError("conflict", "\(f.address) is router '\(r.id)''s external IP")
      }
      var fip = FloatingIP(address: f.address)
      if let port = f.port { fip = try associated(fip, port: port, fixedIP: f.fixedIP) }
      floatingIPs[f.address.description] = fip
    case .floatingIPAssociate(let address, let port, let fixedIP):
      guard let fip = floatingIPs[address.description] else { throw ControlError("not-found", "no floating IP \(address)") }
      floatingIPs[address.description] = try associated(FloatingIP(address: fip.address), port: port, fixedIP: fixedIP)
    case .floatingIPDisassociate(let address):
      guard let fip = floatingIPs[address.description] else { throw ControlError("not-found", "no floating IP \(address)") }
      floatingIPs[address.description] = FloatingIP(address: fip.address)
    case .floatingIPDelete(let address):
      guard floatingIPs[address.description] != nil else { throw ControlError("not-found", "no floating IP \(address)") }
      floatingIPs[address.description] = nil
    default:
      throw .bad("not an external-network request")
    }
  }

  /// `fip` associated with `port` (its `fixedIP`, or its first fixed IP), after checking
  /// that the port's router has an external gateway whose subnet holds the floating IP and
  /// that no other floating IP maps that fixed IP.
  func associated(_ fip: FloatingIP, port id: String, fixedIP: IPv4Address?) throws(ControlError) -> FloatingIP {
    guard let p = ports[id] else { throw ControlError("not-found", "no port '\(id)'") }
    guard let inside = fixedIP ?? p.fixedIPs.first else { throw ControlError("conflict", "port '\(id)' has no fixed IP") }
    guard p.fixedIPs.contains(inside) else { throw ControlError("conflict", "\(inside) is not a fixed IP of port '\(id)'") }
    guard let router = router(ofPort: id) else {
      throw ControlError("conflict", "port '\(id)' is on network '\(p.network)', which no router serves")
    }
    guard let g = router.gateway else { throw ControlError("conflict", "router '\(router.id)' has no external gateway") }
    guard g.subnet.contains(fip.address) else {
      throw ControlError("conflict", "floating IP \(fip.address) is not on router '\(router.id)''s external subnet \(g.subnet)")
    }
    if let other = floatingIPs.values.first(where: { $0.address != fip.address && $0.port == id && $0.fixedIP == inside }) {
      throw ControlError("conflict", "\(inside) of port '\(id)' already has floating IP \(other.address)")
    }
    return FloatingIP(address: fip.address, port: id, fixedIP: inside)
  }

  /// The router that serves a port's network.
  public func router(ofPort id: String) -> Router? {
    guard let p = ports[id] else { return nil }
    return routerInterface(of: p.network)?.router
  }

  /// Refuses a change that would leave a floating IP pointing at a port or fixed IP that is
  /// gone, or behind a router interface that is removed.
  func checkFloatingIPs() throws(ControlError) {
    for f in floatingIPs.values {
      guard let id = f.port else { continue }
      guard let p = ports[id] else { throw ControlError("in-use", "port '\(id)' has floating IP \(f.address); disassociate it first") }
      guard let ip = f.fixedIP, p.fixedIPs.contains(ip) else {
        throw ControlError("in-use", "fixed IP \(f.fixedIP?.description ?? "?") of port '\(id)' has floating IP \(f.address)")
      }
      guard router(ofPort: id)?.gateway != nil else {
        throw ControlError("in-use", "floating IP \(f.address) of port '\(id)' needs its router and external gateway")
      }
    }
  }
}

/// What `show.sessions` returns: every filter is optional.
public struct SessionFilter: Equatable, Sendable {
  public var router: String?
  public var insideIP: IPv4Address?
  public var remoteIP: IPv4Address?
  public var externalIP: IPv4Address?
  public var proto: String?
  public var limit: Int
  public init(router: String? = nil, insideIP: IPv4Address? = nil, remoteIP: IPv4Address? = nil, externalIP: IPv4Address? = nil,
              proto: String? = nil, limit: Int = 1000) {
    self.router = router
    self.insideIP = insideIP
    self.remoteIP = remoteIP
    self.externalIP = externalIP
    self.proto = proto
    self.limit = limit
  }
}
