import Wire

// Peered networks (issue 16): a router is a VCN when it carries CIDR blocks; route tables
// belong to a router and are associated with its subnets (router interfaces) or its local
// peering gateways (LPGs); two LPGs of different routers are peered 1:1.
//
// Resolution (what `Compiler` builds and the reference resolver in the tests follows): a
// packet is looked up in the table of the subnet it came from (the router's main table when
// none is associated). Every table of a router holds the router's own subnets (connected)
// and its CIDR blocks (local: an address in a block and in no subnet has no route), which
// always win: a rule for a destination inside the router's blocks is refused. A rule whose
// target is an LPG hands the packet to the peer LPG's router, where it is looked up again in
// the table associated with the peer LPG (transit), or, without one, in the peer's own
// subnets and blocks only. One pass, on the source node; at most `maxCrossings` crossings.

/// Where a route-table rule sends matching packets.
public enum RouteTarget: Codable, Equatable, Sendable, CustomStringConvertible {
  /// An address on one of the router's subnets (today's static routes).
  case nextHop(IPv4Address)
  /// The router's external gateway (floating IPs and SNAT).
  case external
  /// One of the router's local peering gateways: on to the peer LPG's router.
  case lpg(String)
  /// The router's DRG attachment (`DRG.swift`).
  case drg

  public var kind: String {
    switch self {
    case .nextHop: "next-hop"
    case .external: "external"
    case .lpg: "lpg"
    case .drg: "drg"
    }
  }
  /// The target's name (the next hop's address, the LPG's id; empty for external).
  public var name: String {
    switch self {
    case .nextHop(let ip): ip.description
    case .external, .drg: ""
    case .lpg(let id): id
    }
  }
  public var description: String { name.isEmpty ? kind : "\(kind) \(name)" }
}

/// One rule of a route table: packets for `destination` go to `target`.
public struct RouteRule: Codable, Equatable, Sendable {
  public var destination: IPv4Prefix
  public var target: RouteTarget
  public init(destination: IPv4Prefix, target: RouteTarget) {
    self.destination = destination
    self.target = target
  }
}

/// A route table of a router (OCI's VCN route table).
public struct RouteTable: Codable, Equatable, Sendable {
  public var id: String
  public var router: String
  public var rules: [RouteRule] = []
  public init(id: String, router: String, rules: [RouteRule] = []) {
    self.id = id
    self.router = router
    self.rules = rules
  }
}

/// A local peering gateway of a router. `peer` is the LPG it is connected to (both sides
/// name each other); `acceptFrom` is the LPG of another tenant this one accepts a
/// connection from; `routeTable` routes what enters through it (transit).
public struct LocalPeeringGateway: Codable, Equatable, Sendable {
  public var id: String
  public var router: String
  public var peer: String?
  public var acceptFrom: String?
  public var routeTable: String?
  public init(id: String, router: String, peer: String? = nil, acceptFrom: String? = nil, routeTable: String? = nil) {
    self.id = id
    self.router = router
    self.peer = peer
    self.acceptFrom = acceptFrom
    self.routeTable = routeTable
  }
}

/// What a route table is associated with.
public enum RouteTableSubject: Equatable, Sendable, CustomStringConvertible {
  /// The subnet a router interface puts on this network.
  case network(String)
  case lpg(String)
  public var description: String {
    switch self {
    case .network(let n): "network '\(n)'"
    case .lpg(let l): "LPG '\(l)'"
    }
  }
}

/// A change to CIDR blocks, route tables or local peering.
public enum PeeringChange: Equatable, Sendable {
  case cidrAdd(router: String, IPv4Prefix)
  case cidrRemove(router: String, IPv4Prefix)
  case tableCreate(id: String, router: String)
  case tableDelete(id: String)
  case ruleAdd(table: String, RouteRule)
  case ruleDelete(table: String, destination: IPv4Prefix)
  /// `table` nil: back to the router's main table (subnet) or no transit table (LPG).
  case associate(table: String?, RouteTableSubject)
  case lpgCreate(id: String, router: String)
  case lpgDelete(id: String)
  /// Lets `peer` (an LPG of another tenant) connect to `id`; nil withdraws it.
  case lpgAccept(id: String, peer: String?)
  case lpgConnect(id: String, peer: String)
  case lpgDisconnect(id: String)
  /// Delegates a network to a managed service's tenant (nil: no longer).
  case delegate(network: String, tenant: String?)

  public static let ops = ["network.delegate", "router.cidr.add", "router.cidr.remove", "route_table.create", "route_table.delete",
                           "route_table.rule.add", "route_table.rule.delete", "route_table.associate", "lpg.create",
                           "lpg.delete", "lpg.accept", "lpg.connect", "lpg.disconnect"]

  var op: String {
    switch self {
    case .cidrAdd: "router.cidr.add"
    case .cidrRemove: "router.cidr.remove"
    case .tableCreate: "route_table.create"
    case .tableDelete: "route_table.delete"
    case .ruleAdd: "route_table.rule.add"
    case .ruleDelete: "route_table.rule.delete"
    case .associate: "route_table.associate"
    case .lpgCreate: "lpg.create"
    case .lpgDelete: "lpg.delete"
    case .lpgAccept: "lpg.accept"
    case .lpgConnect: "lpg.connect"
    case .lpgDisconnect: "lpg.disconnect"
    case .delegate: "network.delegate"
    }
  }

  var args: [String: Any] {
    switch self {
    case .cidrAdd(let r, let p), .cidrRemove(let r, let p): return ["router": r, "prefix": p.description]
    case .tableCreate(let id, let r), .lpgCreate(let id, let r): return ["id": id, "router": r]
    case .tableDelete(let id), .lpgDelete(let id), .lpgDisconnect(let id): return ["id": id]
    case .ruleAdd(let t, let rule):
      var d: [String: Any] = ["table": t, "destination": rule.destination.description, "target_type": rule.target.kind]
      if !rule.target.name.isEmpty { d["target"] = rule.target.name }
      return d
    case .ruleDelete(let t, let p): return ["table": t, "destination": p.description]
    case .associate(let t, let subject):
      var d: [String: Any] = [:]
      if let t { d["table"] = t }
      switch subject {
      case .network(let n): d["network"] = n
      case .lpg(let l): d["lpg"] = l
      }
      return d
    case .lpgAccept(let id, let peer):
      var d: [String: Any] = ["id": id]
      if let peer { d["peer"] = peer }
      return d
    case .lpgConnect(let id, let peer): return ["id": id, "peer": peer]
    case .delegate(let n, let t):
      var d: [String: Any] = ["network": n]
      if let t { d["tenant"] = t }
      return d
    }
  }

  static func parse(_ op: String, _ a: inout StrictObject) throws(ControlError) -> PeeringChange {
    switch op {
    case "router.cidr.add", "router.cidr.remove":
      let r = try a.identifier("router"), p = try ControlRequest.prefix(&a, "prefix", op: op)
      return op == "router.cidr.add" ? .cidrAdd(router: r, p) : .cidrRemove(router: r, p)
    case "route_table.create": return .tableCreate(id: try a.identifier("id"), router: try a.identifier("router"))
    case "route_table.delete": return .tableDelete(id: try a.identifier("id"))
    case "route_table.rule.add":
      let t = try a.identifier("table"), destination = try ControlRequest.prefix(&a, "destination", op: op)
      let kind = try a.string("target_type")
      let target: RouteTarget
      switch kind {
      case "lpg": target = .lpg(try a.identifier("target"))
      case "next-hop": target = .nextHop(try ControlRequest.ipv4(&a, "target", op: op))
      case "external": target = .external
      case "drg": target = .drg
      default: throw .bad("\(op): field 'target_type': '\(kind)' is not lpg, drg, next-hop or external")
      }
      return .ruleAdd(table: t, RouteRule(destination: destination, target: target))
    case "route_table.rule.delete":
      return .ruleDelete(table: try a.identifier("table"), destination: try ControlRequest.prefix(&a, "destination", op: op))
    case "route_table.associate":
      let t = try a.optionalIdentifier("table")
      switch (try a.optionalIdentifier("network"), try a.optionalIdentifier("lpg")) {
      case (let n?, nil): return .associate(table: t, .network(n))
      case (nil, let l?): return .associate(table: t, .lpg(l))
      default: throw .bad("\(op): give one of 'network' or 'lpg'")
      }
    case "lpg.create": return .lpgCreate(id: try a.identifier("id"), router: try a.identifier("router"))
    case "lpg.delete": return .lpgDelete(id: try a.identifier("id"))
    case "lpg.accept": return .lpgAccept(id: try a.identifier("id"), peer: try a.optionalIdentifier("peer"))
    case "lpg.connect": return .lpgConnect(id: try a.identifier("id"), peer: try a.identifier("peer"))
    case "lpg.disconnect": return .lpgDisconnect(id: try a.identifier("id"))
    case "network.delegate": return .delegate(network: try a.identifier("network"), tenant: try a.optionalIdentifier("tenant"))
    default: throw .bad("unknown op '\(op)'")
    }
  }
}

extension Router {
  /// The router's own address space: its CIDR blocks, or its subnets when it has none.
  public var addressSpace: [IPv4Prefix] { cidrBlocks.isEmpty ? interfaces.map(\.subnet) : cidrBlocks }
}

extension IPv4Prefix {
  /// True when every address of `o` is in this prefix.
  public func covers(_ o: IPv4Prefix) -> Bool { length <= o.length && contains(o.address) }
}

extension ControlState {
  /// Checks and applies one peering change (part of `apply`).
  mutating func applyPeering(_ c: PeeringChange) throws(ControlError) {
    switch c {
    case .cidrAdd(let id, let p):
      guard var r = routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      if let o = r.cidrBlocks.first(where: { $0.overlaps(p) }) {
        throw ControlError("conflict", "CIDR block \(p) overlaps \(o) of router '\(id)'")
      }
      r.cidrBlocks.append(p)
      try checkRouterPeering(r)
      routers[id] = r
    case .cidrRemove(let id, let p):
      guard var r = routers[id] else { throw ControlError("not-found", "no router '\(id)'") }
      guard let k = r.cidrBlocks.firstIndex(of: p) else { throw ControlError("not-found", "router '\(id)' has no CIDR block \(p)") }
      r.cidrBlocks.remove(at: k)
      try checkRouterPeering(r)
      routers[id] = r
    case .tableCreate(let id, let router):
      guard routeTables[id] == nil else { throw ControlError("exists", "route table '\(id)' exists") }
      guard routers[router] != nil else { throw ControlError("not-found", "no router '\(router)'") }
      routeTables[id] = RouteTable(id: id, router: router)
    case .tableDelete(let id):
      guard routeTables[id] != nil else { throw ControlError("not-found", "no route table '\(id)'") }
      if let user = tableUsers(id).first { throw ControlError("in-use", "route table '\(id)' is associated with \(user)") }
      routeTables[id] = nil
    case .ruleAdd(let id, let rule):
      guard var t = routeTables[id] else { throw ControlError("not-found", "no route table '\(id)'") }
      if let first = t.rules.first(where: { $0.destination == rule.destination }) {
        throw ControlError("conflict", "route table '\(id)' already has a rule for \(rule.destination) (to \(first.target)): one rule per destination")
      }
      guard let r = routers[t.router] else { throw ControlError("not-found", "no router '\(t.router)'") }
      try checkTarget(rule.target, of: r, table: id)
      // Only the new rule: the others were checked when they came (a table of 10,000 rules
      // takes one more without scanning them all).
      if let b = r.addressSpace.first(where: { $0.covers(rule.destination) }) {
        throw ControlError("conflict", "route table '\(id)': \(rule.destination) lies in router '\(r.id)''s own \(b), which is always local")
      }
      t.rules.append(rule)
      routeTables[id] = t
    case .ruleDelete(let id, let destination):
      guard var t = routeTables[id] else { throw ControlError("not-found", "no route table '\(id)'") }
      guard let k = t.rules.firstIndex(where: { $0.destination == destination }) else {
        throw ControlError("not-found", "route table '\(id)' has no rule for \(destination)")
      }
      t.rules.remove(at: k)
      routeTables[id] = t
    case .associate(let table, let subject):
      let owner: String
      switch subject {
      case .network(let n):
        guard let (r, _) = routerInterface(of: n) else { throw ControlError("not-found", "network '\(n)' is attached to no router") }
        owner = r.id
      case .lpg(let l):
        guard let g = lpgs[l] else { throw ControlError("not-found", "no LPG '\(l)'") }
        owner = g.router
      }
      if let table {
        guard let t = routeTables[table] else { throw ControlError("not-found", "no route table '\(table)'") }
        guard t.router == owner else {
          throw ControlError("conflict", "route table '\(table)' belongs to router '\(t.router)', \(subject) to '\(owner)'")
        }
      }
      switch subject {
      case .network(let n):
        var r = routers[owner]!
        let k = r.interfaces.firstIndex { $0.network == n }!
        r.interfaces[k].routeTable = table
        routers[owner] = r
      case .lpg(let l): lpgs[l]!.routeTable = table
      }
    case .lpgCreate(let id, let router):
      guard lpgs[id] == nil else { throw ControlError("exists", "LPG '\(id)' exists") }
      guard routers[router] != nil else { throw ControlError("not-found", "no router '\(router)'") }
      lpgs[id] = LocalPeeringGateway(id: id, router: router)
    case .lpgDelete(let id):
      guard let g = lpgs[id] else { throw ControlError("not-found", "no LPG '\(id)'") }
      if let p = g.peer { throw ControlError("in-use", "LPG '\(id)' is peered with '\(p)': disconnect it first") }
      if let (t, rule) = rules(targeting: .lpg(id)).first {
        throw ControlError("in-use", "route table '\(t)' sends \(rule.destination) to LPG '\(id)'")
      }
      lpgs[id] = nil
    case .lpgAccept(let id, let peer):
      guard lpgs[id] != nil else { throw ControlError("not-found", "no LPG '\(id)'") }
      lpgs[id]!.acceptFrom = peer
    case .lpgConnect(let id, let peerID):
      guard let g = lpgs[id] else { throw ControlError("not-found", "no LPG '\(id)'") }
      guard let p = lpgs[peerID] else { throw ControlError("not-found", "no LPG '\(peerID)'") }
      guard g.router != p.router else { throw .bad("lpg.connect: '\(id)' and '\(peerID)' belong to the same router '\(g.router)'") }
      for x in [g, p] {
        if let other = x.peer { throw ControlError("conflict", "LPG '\(x.id)' is already peered with '\(other)'") }
      }
      let a = routers[g.router]!, b = routers[p.router]!
      if a.tenant != b.tenant && p.acceptFrom != id {
        throw ControlError("forbidden", "LPG '\(peerID)' of tenant '\(b.tenant)' does not accept '\(id)' (lpg.accept on its side first)")
      }
      if let (x, y) = overlap(a.addressSpace, b.addressSpace) {
        throw ControlError("conflict", "router '\(a.id)''s \(x) overlaps router '\(b.id)''s \(y): overlapping networks cannot be peered")
      }
      lpgs[id]!.peer = peerID
      lpgs[peerID]!.peer = id
    case .delegate(let id, let tenant):
      guard var n = networks[id] else { throw ControlError("not-found", "no network '\(id)'") }
      guard tenant != n.tenant else { throw .bad("network.delegate: '\(id)' already belongs to tenant '\(n.tenant)'") }
      if let p = ports.values.sorted(by: { $0.id < $1.id }).first(where: { $0.network == id && $0.tenant != nil && $0.tenant != n.tenant && $0.tenant != tenant }) {
        throw ControlError("in-use", "port '\(p.id)' of tenant '\(p.tenant!)' is on network '\(id)'")
      }
      n.delegatedTo = tenant
      networks[id] = n
    case .lpgDisconnect(let id):
      guard let g = lpgs[id] else { throw ControlError("not-found", "no LPG '\(id)'") }
      guard let p = g.peer else { throw ControlError("not-found", "LPG '\(id)' is not peered") }
      lpgs[id]!.peer = nil
      lpgs[p]?.peer = nil
    }
  }

  /// Route tables' rules that send packets to `target`, as (table, rule).
  func rules(targeting target: RouteTarget) -> [(String, RouteRule)] {
    routeTables.values.sorted { $0.id < $1.id }.flatMap { t in t.rules.filter { $0.target == target }.map { (t.id, $0) } }
  }

  /// What a route table is associated with, for "in-use" errors.
  func tableUsers(_ id: String) -> [String] {
    var out: [String] = []
    for r in routers.values.sorted(by: { $0.id < $1.id }) {
      for i in r.interfaces where i.routeTable == id { out.append("network '\(i.network)'") }
    }
    for g in lpgs.values.sorted(by: { $0.id < $1.id }) where g.routeTable == id { out.append("LPG '\(g.id)'") }
    for a in drgAttachments.values.sorted(by: { $0.id < $1.id }) where a.routeTable == id { out.append("DRG attachment '\(a.id)'") }
    return out
  }

  func checkTarget(_ target: RouteTarget, of r: Router, table: String) throws(ControlError) {
    switch target {
    case .nextHop(let ip):
      guard ip.isUnicastHost else { throw .bad("route table '\(table)': next hop \(ip) is not a unicast host address") }
      guard r.interfaces.contains(where: { $0.subnet.contains(ip) }) else {
        throw ControlError("conflict", "next hop \(ip) is on no subnet of router '\(r.id)'")
      }
    case .external:
      guard r.gateway != nil else { throw ControlError("conflict", "router '\(r.id)' has no external gateway") }
    case .lpg(let l):
      guard let g = lpgs[l] else { throw ControlError("not-found", "no LPG '\(l)'") }
      guard g.router == r.id else {
        throw ControlError("conflict", "LPG '\(l)' belongs to router '\(g.router)', route table '\(table)' to '\(r.id)'")
      }
    case .drg:
      guard drgAttachment(ofRouter: r.id) != nil else { throw ControlError("conflict", "router '\(r.id)' is attached to no DRG") }
    }
  }

  /// Refuses a rule of `r`'s tables for a destination inside `r`'s own blocks (they are
  /// local and always win).
  func checkRulesOutside(_ r: Router) throws(ControlError) {
    for t in routeTables.values.sorted(by: { $0.id < $1.id }) where t.router == r.id {
      for rule in t.rules {
        if let b = r.addressSpace.first(where: { $0.covers(rule.destination) }) {
          throw ControlError("conflict", "route table '\(t.id)': \(rule.destination) lies in router '\(r.id)''s own \(b), which is always local")
        }
      }
    }
  }

  /// Refuses an address space of `r` that overlaps a router it is peered with.
  func checkPeersDisjoint(_ r: Router) throws(ControlError) {
    for g in lpgs.values.sorted(by: { $0.id < $1.id }) where g.router == r.id {
      guard let p = g.peer.flatMap({ lpgs[$0] }), let o = routers[p.router] else { continue }
      if let (x, y) = overlap(r.addressSpace, o.addressSpace) {
        throw ControlError("conflict", "router '\(r.id)''s \(x) overlaps router '\(o.id)''s \(y), peered through '\(g.id)'")
      }
    }
  }

  func overlap(_ a: [IPv4Prefix], _ b: [IPv4Prefix]) -> (IPv4Prefix, IPv4Prefix)? {
    for x in a { for y in b where x.overlaps(y) { return (x, y) } }
    return nil
  }

  /// Checks a router change against its peering objects (part of the routing requests).
  func checkRouterPeering(_ r: Router) throws(ControlError) {
    if !r.cidrBlocks.isEmpty, let i = r.interfaces.first(where: { i in !r.cidrBlocks.contains { $0.covers(i.subnet) } }) {
      throw ControlError("conflict", "subnet \(i.subnet) of network '\(i.network)' lies in no CIDR block of router '\(r.id)' (\(r.cidrBlocks.map(\.description).joined(separator: ", ")))")
    }
    for t in routeTables.values.sorted(by: { $0.id < $1.id }) where t.router == r.id {
      for rule in t.rules {
        if case .nextHop(let ip) = rule.target, !r.interfaces.contains(where: { $0.subnet.contains(ip) }) {
          throw ControlError("in-use", "route table '\(t.id)' sends \(rule.destination) via \(ip) on this subnet")
        }
        if case .external = rule.target, r.gateway == nil {
          throw ControlError("in-use", "route table '\(t.id)' sends \(rule.destination) to the external gateway")
        }
      }
    }
    try checkRulesOutside(r)
    try checkPeersDisjoint(r)
  }

  /// Refuses deleting a router that route tables or LPGs still belong to.
  func checkRouterUnused(_ id: String) throws(ControlError) {
    if let t = routeTables.values.map(\.id).sorted().first(where: { routeTables[$0]!.router == id }) {
      throw ControlError("in-use", "route table '\(t)' belongs to router '\(id)'")
    }
    if let g = lpgs.values.map(\.id).sorted().first(where: { lpgs[$0]!.router == id }) {
      throw ControlError("in-use", "LPG '\(g)' belongs to router '\(id)'")
    }
    if let a = drgAttachment(ofRouter: id) { throw ControlError("in-use", "router '\(id)' is attached to DRG '\(a.drg)' ('\(a.id)')") }
  }
}

// MARK: - replies

/// A route table as `show route_tables` lists it.
public struct RouteTableRow: Codable, Sendable, Equatable {
  public var id: String
  public var router: String
  public var rules: [RouteRuleRow]
  /// Networks (subnets) and LPGs it is associated with.
  public var associations: [String]
  public init(id: String, router: String, rules: [RouteRuleRow], associations: [String]) {
    self.id = id
    self.router = router
    self.rules = rules
    self.associations = associations
  }
}

public struct RouteRuleRow: Codable, Sendable, Equatable {
  public var destination: String
  public var targetType: String
  public var target: String
  /// For an LPG target: "peered with X" or "not peered" (packets dropped as peering-down).
  public var status: String
  public init(destination: String, targetType: String, target: String, status: String) {
    self.destination = destination
    self.targetType = targetType
    self.target = target
    self.status = status
  }
}

/// An LPG as `show lpgs` lists it.
public struct LPGRow: Codable, Sendable, Equatable {
  public var id: String
  public var router: String
  public var tenant: String
  public var peer: String?
  public var peerRouter: String?
  public var acceptFrom: String?
  public var routeTable: String?
  public init(id: String, router: String, tenant: String, peer: String?, peerRouter: String?, acceptFrom: String?, routeTable: String?) {
    self.id = id
    self.router = router
    self.tenant = tenant
    self.peer = peer
    self.peerRouter = peerRouter
    self.acceptFrom = acceptFrom
    self.routeTable = routeTable
  }
}

extension ControlState {
  public var routeTableRows: [RouteTableRow] {
    routeTables.values.sorted { $0.id < $1.id }.map { t in
      RouteTableRow(id: t.id, router: t.router, rules: t.rules.map { rule in
        var status = ""
        if case .lpg(let l) = rule.target { status = lpgs[l]?.peer.map { "peered with \($0)" } ?? "not peered" }
        return RouteRuleRow(destination: rule.destination.description, targetType: rule.target.kind, target: rule.target.name,
                            status: status)
      }, associations: tableUsers(t.id))
    }
  }

  public var lpgRows: [LPGRow] {
    lpgs.values.sorted { $0.id < $1.id }.map { g in
      LPGRow(id: g.id, router: g.router, tenant: routers[g.router]?.tenant ?? "", peer: g.peer,
             peerRouter: g.peer.flatMap { lpgs[$0]?.router }, acceptFrom: g.acceptFrom, routeTable: g.routeTable)
    }
  }
}
