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
    // What is installed, keyed as the stable numberings are. `special`: a RoutingTables
    // special entry (then `interface` is nil); `crossInto`: the lookup table a crossing leads to.
    struct Route {
      var key: String; var vrf: Int; var prefix: IPv4Prefix; var interface: String?; var gateway: IPv4Address?
      var special: UInt16? = nil; var crossInto: Int? = nil; var neighbor: UInt64? = nil
    }
    var interfaceKeys: [String: (router: Router, interface: RouterInterface)] = [:]
    var routes: [Route] = []
    // Lookup tables past the routers' main ones (`Peering.swift` in Control): one per route
    // table ("table T") and one per router an LPG without a transit table leads into
    // ("local R": its own subnets and blocks only). Each holds its router's local entries
    // (shared FIB entries) and, for a route table, its rules.
    var tableKeys = Set<String>()
    for t in s.routeTables.values where out.assignment.vrfs[t.router] != nil { tableKeys.insert("table \(t.id)") }
    func entryTable(of lpg: LocalPeeringGateway) -> String { lpg.routeTable.map { "table \($0)" } ?? "local \(lpg.router)" }
    for g in s.lpgs.values {
      guard let p = g.peer.flatMap({ s.lpgs[$0] }), out.assignment.vrfs[p.router] != nil else { continue }
      tableKeys.insert(entryTable(of: p))
    }
    // On a DRG's gateway node: one table per attachment ("drg A": its DRG route table), and
    // the tables packets enter VCNs through from the DRG.
    func entryTable(of att: DRGAttachment) -> String? {
      guard let r = att.router, out.assignment.vrfs[r] != nil else { return nil }
      return att.routeTable.map { "table \($0)" } ?? "local \(r)"
    }
    let drgHere = s.drgAttachments.values.filter { runsDRG(of: $0, s, node) }
    for att in drgHere {
      tableKeys.insert("drg \(att.id)")
      if let e = entryTable(of: att) { tableKeys.insert(e) }
    }
    let tableOrder = tableKeys.sorted()
    var tableIndex: [String: Int] = [:]
    for (k, key) in tableOrder.enumerated() { tableIndex[key] = out.assignment.vrfs.end + k }
    func tableRouter(_ key: String) -> String? {
      let name = String(key.split(separator: " ")[1])
      return key.hasPrefix("table ") ? s.routeTables[name]!.router : key.hasPrefix("local ") ? name : nil   // a DRG's: no router
    }
    // Local entries (connected subnets, CIDR blocks) by router, added to each of its tables.
    var local: [String: [String]] = [:], localPrefix: [String: IPv4Prefix] = [:]
    for r in s.routers.values {
      guard let vrf = out.assignment.vrfs[r.id] else { continue }
      for i in r.interfaces where out.assignment.domains[i.network] != nil && s.networks[i.network] != nil {
        let key = "\(r.id) \(i.network)"
        interfaceKeys[key] = (r, i)
        routes.append(Route(key: key + " connected", vrf: vrf, prefix: i.subnet, interface: key, gateway: nil))
        local[r.id, default: []].append(key + " connected")
        localPrefix[key + " connected"] = i.subnet
      }
      for b in r.cidrBlocks where !r.interfaces.contains(where: { $0.subnet == b }) {   // a subnet as large as its block wins
        routes.append(Route(key: "\(r.id) block \(b)", vrf: vrf, prefix: b, interface: nil, gateway: nil, special: RoutingTables.unreachable))
        local[r.id, default: []].append("\(r.id) block \(b)")
        localPrefix["\(r.id) block \(b)"] = b
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
    // Route tables' rules, in their own lookup tables ("rt T PREFIX").
    var tableRoutes: [(table: Int, prefix: IPv4Prefix, key: String)] = []
    for key in tableOrder {
      let t = tableIndex[key]!
      if key.hasPrefix("drg ") {
        // An attachment's DRG route table: on to a VCN (into its entry table) or an RPC.
        let att = s.drgAttachments[String(key.dropFirst(4))]!
        for route in s.drgRoutes(of: att) {
          guard let b = s.drgAttachments[route.target] else { continue }
          var entry = Route(key: "drg \(att.id) \(route.destination)", vrf: t, prefix: route.destination, interface: nil, gateway: nil)
          if let e = entryTable(of: b), let into = tableIndex[e] {
            entry.special = RoutingTables.crossing
            entry.crossInto = into
          } else if b.rpc, let n = attachmentNeighbor(b, s, node, out.assignment) {
            entry.interface = attachmentKey(b.id)
            entry.neighbor = n
          } else {
            entry.special = RoutingTables.peeringDown
          }
          routes.append(entry)
        }
        continue
      }
      guard let router = tableRouter(key) else { continue }
      for k in local[router] ?? [] { tableRoutes.append((t, localPrefix[k]!, k)) }
      guard key.hasPrefix("table "), let rt = s.routeTables[String(key.dropFirst(6))], let r = s.routers[router] else { continue }
      for rule in rt.rules {
        var route = Route(key: "rt \(rt.id) \(rule.destination)", vrf: t, prefix: rule.destination, interface: nil, gateway: nil)
        switch rule.target {
        case .nextHop(let ip):
          guard let i = r.interfaces.first(where: { $0.subnet.contains(ip) }), interfaceKeys["\(r.id) \(i.network)"] != nil else { continue }
          route.interface = "\(r.id) \(i.network)"
          route.gateway = ip
        case .external:
          guard r.gateway != nil, !(local[router] ?? []).isEmpty else { continue }
        case .lpg(let l):
          if let p = s.lpgs[l]?.peer.flatMap({ s.lpgs[$0] }), let into = tableIndex[entryTable(of: p)] {
            route.special = RoutingTables.crossing
            route.crossInto = into
          } else {
            route.special = RoutingTables.peeringDown
          }
        case .drg:
          // The DRG runs here: into the attachment's DRG table; else to the gateway node.
          if let att = s.drgAttachment(ofRouter: r.id), let into = tableIndex["drg \(att.id)"] {
            route.special = RoutingTables.crossing
            route.crossInto = into
          } else if let att = s.drgAttachment(ofRouter: r.id), let n = attachmentNeighbor(att, s, node, out.assignment) {
            route.interface = attachmentKey(att.id)
            route.neighbor = n
          } else {
            route.special = RoutingTables.peeringDown
          }
        }
        routes.append(route)
      }
    }
    // A router interface per DRG attachment too: the egress of packets sent to it over the
    // overlay, and on the gateway node the ingress of what arrives for it.
    let attachmentInterfaces = Set(s.drgAttachments.keys.map(attachmentKey))
    try out.assignment.routerInterfaces.assign(Set(interfaceKeys.keys).union(attachmentInterfaces), generation: out.generation,
                                               limit: Int(UInt16.max) - 1, what: "router interfaces")
    try out.assignment.fib.assign(Set(routes.map(\.key)), generation: out.generation, limit: 1 << 24, what: "routes")
    let a = out.assignment

    var c = RoutingConfig()
    c.localDVRMAC = node.dvrHostMAC
    c.remoteDVRMACs = s.chassis.filter { $0.tunnelIP != node.tunnelIP }.map(\.dvrMAC)
    for _ in 0..<(a.vrfs.end + tableOrder.count) { c.vrfRoutes.append([]) }
    for key in tableOrder { if let r = tableRouter(key) { c.tableVRF[tableIndex[key]!] = a.vrfs[r]! } }
    for att in s.drgAttachments.values.sorted(by: { $0.id < $1.id }) {
      guard let i = a.routerInterfaces[attachmentKey(att.id)], let d = a.domains[attachmentKey(att.id)] else { continue }
      let vrf = att.router.flatMap { a.vrfs[$0] } ?? 0
      c.setInterface(i, .init(vrf: vrf, domain: UInt16(d), address: IPv4Address(0), mac: attachmentMAC(att), mtu: node.underlayMTU - 50,
                              table: tableIndex["drg \(att.id)"]))
      if runsDRG(of: att, s, node) {   // what arrives for it here is routed, from the overlay too
        out.l2.append((UInt16(d), attachmentMAC(att), L2Value.router | L2Value.transit | UInt32(i)))
      }
    }
    for (key, (r, i)) in interfaceKeys.sorted(by: { $0.key < $1.key }) {
      let d = UInt16(a.domains[i.network]!)
      out.overlay.arp.append((d, i.address, i.mac))
      c.setInterface(a.routerInterfaces[key]!, .init(vrf: a.vrfs[r.id]!, domain: d, address: i.address, mac: i.mac,
                                                     mtu: node.mtu(of: s.networks[i.network]!),
                                                     table: i.routeTable.flatMap { tableIndex["table \($0)"] }))
    }
    for rt in routes.sorted(by: { $0.key < $1.key }) {
      let interface = rt.special.map(Int.init) ?? rt.interface.map { a.routerInterfaces[$0]! } ?? Int(RoutingTables.external)
      c.setRoute(a.fib[rt.key]!, vrf: rt.vrf, prefix: rt.prefix.address, length: rt.prefix.length,
                 entry: .init(interface: interface, gateway: rt.gateway, table: rt.crossInto, neighbor: rt.neighbor))
    }
    for e in tableRoutes { c.vrfRoutes[e.table].append(LPM4.Route(prefix: e.prefix.address, length: e.prefix.length, nextHop: a.fib[e.key]!)) }
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
