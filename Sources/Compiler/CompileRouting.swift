import Control
import Pipeline
import Tables
import Wire

extension DataplaneCompiler {
  /// The routers as the data plane needs them. One VRF per router; per router interface a
  /// connected route, the gateway MAC in the L2 table (frames to it are routed) and the
  /// gateway IP in the ARP responder; per static route a FIB entry via its next hop (a
  /// route whose next hop is on none of the router's subnets is not installed); with an
  /// external gateway the default route to `ip4-external`, the SNAT port MAC on the SNAT
  /// node, and the floating IPs of local ports; neighbours from the fixed IPs of every
  /// port on a routed network.
  static func compileRouting(_ s: ControlState, node: NodeFacts, into out: inout CompiledDataplane) throws(ControlError) {
    // What is installed, keyed as the stable numberings are.
    struct Route { var key: String; var vrf: Int; var prefix: IPv4Prefix; var interface: String?; var gateway: IPv4Address? }
    var interfaceKeys: [String: (router: Router, interface: RouterInterface)] = [:]
    var routes: [Route] = []
    for r in s.routers.values {
      guard let vrf = out.assignment.vrfs[r.id] else { continue }
      for i in r.interfaces where out.assignment.domains[i.network] != nil && s.networks[i.network] != nil {
        let key = "\(r.id) \(i.network)"
        interfaceKeys[key] = (r, i)
        routes.append(Route(key: key + " connected", vrf: vrf, prefix: i.subnet, interface: key, gateway: nil))
      }
      for rt in r.routes {
        guard let i = r.interfaces.first(where: { $0.subnet.contains(rt.nextHop) }), interfaceKeys["\(r.id) \(i.network)"] != nil else { continue }
        routes.append(Route(key: "\(r.id) \(rt.prefix)", vrf: vrf, prefix: rt.prefix, interface: "\(r.id) \(i.network)", gateway: rt.nextHop))
      }
      // North-south: the default route leads to the external network (ip4-external).
      if r.gateway != nil, r.interfaces.contains(where: { interfaceKeys["\(r.id) \($0.network)"] != nil }) {
        routes.append(Route(key: "\(r.id) external", vrf: vrf, prefix: IPv4Prefix(IPv4Address(0), 0), interface: nil, gateway: nil))
      }
    }
    try out.assignment.routerInterfaces.assign(Set(interfaceKeys.keys), generation: out.generation, limit: Int(UInt16.max) - 1,
                                               what: "router interfaces")
    try out.assignment.fib.assign(Set(routes.map(\.key)), generation: out.generation, limit: 1 << 24, what: "routes")
    let a = out.assignment

    var c = RoutingConfig()
    c.localDVRMAC = node.dvrHostMAC
    c.remoteDVRMACs = s.chassis.filter { $0.tunnelIP != node.tunnelIP }.map(\.dvrMAC)
    for _ in 0..<a.vrfs.end { c.vrfRoutes.append([]) }
    for (key, (r, i)) in interfaceKeys.sorted(by: { $0.key < $1.key }) {
      let d = UInt16(a.domains[i.network]!)
      out.overlay.arp.append((d, i.address, i.mac))
      c.setInterface(a.routerInterfaces[key]!, .init(vrf: a.vrfs[r.id]!, domain: d, address: i.address, mac: i.mac,
                                                     mtu: node.mtu(of: s.networks[i.network]!)))
    }
    for rt in routes.sorted(by: { $0.key < $1.key }) {
      let interface = rt.interface.map { a.routerInterfaces[$0]! } ?? Int(RoutingTables.external)
      c.setRoute(a.fib[rt.key]!, vrf: rt.vrf, prefix: rt.prefix.address, length: rt.prefix.length,
                 entry: .init(interface: interface, gateway: rt.gateway))
    }
    out.l2 += c.gatewayL2Entries

    var external = ExternalConfig()
    if let up = node.uplink, let i = a.interfaces[.uplink] {
      external.uplinkInterface = i
      external.uplinkMAC = up.mac
      external.uplinkMTU = up.mtu
    }
    for r in s.routers.values.sorted(by: { $0.id < $1.id }) {
      let mine = r.interfaces.compactMap { i in a.routerInterfaces["\(r.id) \(i.network)"].map { (i.network, $0) } }
      guard let g = r.gateway, let vrf = a.vrfs[r.id], let first = mine.map(\.1).min() else { continue }
      let snatHere = node.isSNATNode(g)
      let upstreamMAC = node.uplink == nil ? nil : node.upstreamNeighbors[g.upstream]
      external.gateways.append(.init(vrf: vrf, externalIP: g.externalIP, mac: g.mac, upstreamMAC: upstreamMAC,
                                     portLow: UInt16(g.portLow), portHigh: UInt16(g.portHigh), snatHere: snatHere,
                                     snatTunnel: a.tunnels[g.snatNode], routerInterface: first))
      if snatHere {
        // The router's SNAT port on each of its networks: frames other nodes send to it.
        for (network, k) in mine { out.l2.append((UInt16(a.domains[network]!), g.mac, L2Value.router | L2Value.snat | UInt32(k))) }
      }
      let networks = Set(mine.map(\.0))
      for f in s.floatingIPs.values.sorted(by: { $0.address < $1.address }) {
        guard let pid = f.port, let inside = f.fixedIP, let p = s.ports[pid], case .local = p.location, networks.contains(p.network)
        else { continue }
        external.floatingIPs.append(.init(address: f.address, vrf: vrf, inside: inside, upstreamMAC: upstreamMAC, routerInterface: first))
      }
    }
    for p in s.ports.values.sorted(by: { $0.id < $1.id }) {
      guard s.routerInterface(of: p.network) != nil, let d = a.domains[p.network], let t = target(p.id, s, out),
            node.underlay != nil || t & L2Value.remote == 0 else { continue }   // remote without an underlay: unreachable
      for ip in p.fixedIPs { c.neighbors.append((UInt16(d), ip, p.mac, t)) }
    }
    out.routing = c
    out.external = external
  }
}
