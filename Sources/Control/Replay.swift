import Foundation
import Wire

extension ControlState {
  /// The requests that build this state from an empty one, in an order that satisfies
  /// every dependency: networks, routers with their interfaces and routes, ports, static
  /// FDB entries, chassis, then gateways and floating IPs (which need ports and interfaces).
  public var replayRequests: [ControlRequest] {
    var out: [ControlRequest] = []
    // Security lists and groups first (networks and ports name them), each group's rules once
    // every group exists (a rule may name another group).
    for id in securityLists.keys.sorted() {
      let l = securityLists[id]!
      out.append(.securityListCreate(SecurityList(id: id, tenant: l.tenant)))
      for rule in l.rules { out.append(.securityListRuleAdd(list: id, rule)) }
    }
    for id in securityGroups.keys.sorted() {
      let g = securityGroups[id]!
      out.append(.securityGroupCreate(SecurityGroup(id: id, tenant: g.tenant, name: g.name)))
    }
    for id in securityGroups.keys.sorted() {
      for rule in securityGroups[id]!.rules { out.append(.securityGroupRuleAdd(group: id, rule)) }
    }
    for id in networks.keys.sorted() {
      var n = networks[id]!
      n.delegatedTo = nil
      out.append(.networkCreate(n))
    }
    let routerIDs = routers.keys.sorted()
    for id in routerIDs {
      let r = routers[id]!
      out.append(.routerCreate(id: id, tenant: r.tenant))
      for b in r.cidrBlocks { out.append(.peering(.cidrAdd(router: id, b))) }
      for var i in r.interfaces {
        i.routeTable = nil   // associated below, once the tables exist
        out.append(.routerInterfaceAdd(router: id, i))
      }
      for route in r.routes { out.append(.routerRouteAdd(router: id, route)) }
    }
    // Delegations before ports (a managed service's ports need theirs).
    for id in networks.keys.sorted() { if let t = networks[id]!.delegatedTo { out.append(.peering(.delegate(network: id, tenant: t))) } }
    for id in ports.keys.sorted() { out.append(.portCreate(ports[id]!)) }
    for e in fdb { out.append(.fdbAdd(e)) }
    for c in chassis { out.append(.chassisSet(c)) }
    for id in routerIDs { if let g = routers[id]!.gateway { out.append(.routerGatewaySet(router: id, g)) } }
    out += peeringReplay
    for key in floatingIPs.keys.sorted() { out.append(.floatingIPCreate(floatingIPs[key]!)) }
    for id in flows.keys.sorted() { out.append(.flowAdd(flows[id]!)) }
    return out
  }

  /// Route tables, LPGs, DRGs and their attachments, in dependency order: empty tables and
  /// LPGs (with what they accept, then each peering once), DRGs and attachments (an RPC's
  /// peer once attached), then the rules (they name LPGs, attachments, gateways), then the
  /// associations of tables with subnets and LPGs.
  var peeringReplay: [ControlRequest] {
    var out: [ControlRequest] = []
    let tableIDs = routeTables.keys.sorted(), lpgIDs = lpgs.keys.sorted()
    for id in tableIDs { out.append(.peering(.tableCreate(id: id, router: routeTables[id]!.router))) }
    for id in lpgIDs {
      out.append(.peering(.lpgCreate(id: id, router: lpgs[id]!.router)))
      if let a = lpgs[id]!.acceptFrom { out.append(.peering(.lpgAccept(id: id, peer: a))) }
    }
    for id in lpgIDs {
      // Each pair once, from the side that did not accept (the other may require it).
      guard let p = lpgs[id]!.peer, lpgs[p]?.peer == id else { continue }
      let itAccepts = lpgs[id]!.acceptFrom == p, peerAccepts = lpgs[p]?.acceptFrom == id
      if (peerAccepts && !itAccepts) || (peerAccepts == itAccepts && id < p) { out.append(.peering(.lpgConnect(id: id, peer: p))) }
    }
    for id in drgs.keys.sorted() { out.append(.drg(.create(drgs[id]!))) }
    let attachmentIDs = drgAttachments.keys.sorted()
    for id in attachmentIDs {
      var a = drgAttachments[id]!
      let peer = a.peer
      a.peer = nil
      a.rules = []
      out.append(.drg(.attach(a)))
      if let peer { out.append(.drg(.rpcConnect(id: id, peer))) }
    }
    for id in tableIDs { for rule in routeTables[id]!.rules { out.append(.peering(.ruleAdd(table: id, rule))) } }
    for id in attachmentIDs { for rule in drgAttachments[id]!.rules { out.append(.drg(.ruleAdd(attachment: id, rule))) } }
    for id in routers.keys.sorted() {
      for i in routers[id]!.interfaces { if let t = i.routeTable { out.append(.peering(.associate(table: t, .network(i.network)))) } }
    }
    for id in lpgIDs { if let t = lpgs[id]!.routeTable { out.append(.peering(.associate(table: t, .lpg(id)))) } }
    return out
  }

  /// Checks a state that did not come through `applying` (a state file, a fuzzer's input)
  /// with exactly the rules of the control protocol: every object is turned back into its
  /// request, read with the wire's field rules (`parseBody`), and applied to an empty state in dependency order.
  /// The result must equal `self`; else the error names the first object that breaks a rule.
  ///
  /// Pure; any thread.
  public func validated() throws(ControlError) -> ControlState {
    var s = ControlState()
    let index = PortIndex()
    for r in replayRequests {
      do {
        // The wire's field rules on the request's fields as sent (the JSON text itself is
        // skipped: writing and reading it back was most of the check's time).
        var o = try StrictObject(r.json(), context: "request")
        _ = try o.int("version", 0...Int(Int32.max))
        let parsed = try ControlRequest.parseBody(&o)
        try o.finish()
        if case .portCreate(let p) = parsed { try s.createPort(p, index: index) } else { try s.apply(parsed) }
      } catch {
        throw ControlError(error.code, "\(r.objectName): \(error.message)")
      }
    }
    do { try s.checkFloatingIPs() } catch { throw ControlError(error.code, "floating IPs: \(error.message)") }
    s.generation = generation
    guard s == self else {
      throw ControlError("bad-request", "the objects are valid one by one but do not add up to the same state "
        + "(duplicate keys, or a key that differs from its object's id)")
    }
    return s
  }
}

extension ControlRequest {
  /// "network 'net-a'", "port 'vm1'", … : the object a change request is about, for errors.
  public var objectName: String {
    switch self {
    case .networkCreate(let n): "network '\(n.id)'"
    case .portCreate(let p): "port '\(p.id)'"
    case .fdbAdd(let e): "FDB entry \(e.mac) in network '\(e.network)'"
    case .routerCreate(let id, _): "router '\(id)'"
    case .routerInterfaceAdd(let id, let i): "router '\(id)' interface on network '\(i.network)'"
    case .routerRouteAdd(let id, let r): "router '\(id)' route \(r.prefix)"
    case .chassisSet(let c): "chassis \(c.tunnelIP)"
    case .routerGatewaySet(let id, _): "router '\(id)' gateway"
    case .floatingIPCreate(let f): "floating IP \(f.address)"
    case .securityGroupCreate(let g): "security group '\(g.id)'"
    case .securityGroupRuleAdd(let g, let r): "security group '\(g)' rule '\(r.id)'"
    case .securityListCreate(let l): "security list '\(l.id)'"
    case .securityListRuleAdd(let l, let r): "security list '\(l)' rule '\(r.id)'"
    case .flowAdd(let f): "flow '\(f.id)'"
    default: op
    }
  }
}
