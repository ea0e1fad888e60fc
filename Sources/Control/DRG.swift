import Wire

// Dynamic routing gateways and remote peering between regions (issue 16, seed 004).
//
// A DRG is a region's gateway for private traffic between VCNs and to other regions. Its
// data plane runs on one node of the region, `gatewayNode` (role network): other nodes send
// what a route table sends to the DRG to that node over the overlay, on the VNI of their
// router's attachment. Each attachment has a DRG route table: its static rules, then the
// routes imported from the DRG's other attachments — a VCN attachment offers the VCN's
// address space and the destinations of its route table (the VCN route table applied to
// traffic entering the VCN from the DRG); a connected remote peering connection (RPC)
// offers what the peer region's DRG exports, as the peer's operator states it (each
// region has its own control plane; Gannet runs no routing protocol between them). An RPC
// carries packets between the two regions' gateway nodes over the backbone, in VXLAN with
// the RPC's VNI (the same number on both sides).

/// A region's dynamic routing gateway.
public struct DynamicRoutingGateway: Codable, Equatable, Sendable {
  public var id: String
  /// Tunnel IP of the node that runs it (role network).
  public var gatewayNode: IPv4Address
  public init(id: String, gatewayNode: IPv4Address) {
    self.id = id
    self.gatewayNode = gatewayNode
  }
}

/// The other side of a connected RPC.
public struct RemotePeer: Codable, Equatable, Sendable {
  /// The peer region's gateway node (its tunnel IP, over the backbone).
  public var gateway: IPv4Address
  /// What the peer's DRG exports to this one.
  public var routes: [IPv4Prefix]
  public init(gateway: IPv4Address, routes: [IPv4Prefix]) {
    self.gateway = gateway
    self.routes = routes
  }
}

/// A static rule of an attachment's DRG route table: `destination` → attachment `target`.
public struct DRGRouteRule: Codable, Equatable, Sendable {
  public var destination: IPv4Prefix
  public var target: String
  public init(destination: IPv4Prefix, target: String) {
    self.destination = destination
    self.target = target
  }
}

/// An attachment of a DRG: a VCN's (`router`) or a remote peering connection's (`rpc`).
public struct DRGAttachment: Codable, Equatable, Sendable {
  public var id: String
  public var drg: String
  /// The overlay VNI packets to (VCN) or between the regions through (RPC) it travel on.
  public var vni: UInt32
  /// A VCN attachment: the router, and the route table of the router applied to traffic
  /// entering it from the DRG (nil: its own subnets only).
  public var router: String?
  public var routeTable: String?
  /// An RPC: true; `peer` once connected.
  public var rpc: Bool
  public var peer: RemotePeer?
  /// Static rules of this attachment's DRG route table.
  public var rules: [DRGRouteRule] = []
  public init(id: String, drg: String, vni: UInt32, router: String? = nil, routeTable: String? = nil, rpc: Bool = false,
              peer: RemotePeer? = nil) {
    self.id = id
    self.drg = drg
    self.vni = vni
    self.router = router
    self.routeTable = routeTable
    self.rpc = rpc
    self.peer = peer
  }
  /// "vcn R" or "rpc" (connected or not).
  public var kind: String { router.map { "vcn \($0)" } ?? (peer == nil ? "rpc (not connected)" : "rpc to \(peer!.gateway)") }
}

/// A change to DRGs, their attachments and RPCs.
public enum DRGChange: Equatable, Sendable {
  case create(DynamicRoutingGateway)
  case delete(id: String)
  /// A VCN attachment (`rpc` false) or an RPC (`rpc` true, no router).
  case attach(DRGAttachment)
  case detach(id: String)
  case ruleAdd(attachment: String, DRGRouteRule)
  case ruleDelete(attachment: String, destination: IPv4Prefix)
  case rpcConnect(id: String, RemotePeer)
  case rpcDisconnect(id: String)

  public static let ops = ["drg.create", "drg.delete", "drg.attach", "drg.detach", "drg.rule.add", "drg.rule.delete", "rpc.create",
                           "rpc.delete", "rpc.connect", "rpc.disconnect"]

  var op: String {
    switch self {
    case .create: "drg.create"
    case .delete: "drg.delete"
    case .attach(let a): a.rpc ? "rpc.create" : "drg.attach"
    case .detach: "drg.detach"
    case .ruleAdd: "drg.rule.add"
    case .ruleDelete: "drg.rule.delete"
    case .rpcConnect: "rpc.connect"
    case .rpcDisconnect: "rpc.disconnect"
    }
  }

  var args: [String: Any] {
    switch self {
    case .create(let d): return ["id": d.id, "gateway_node": d.gatewayNode.description]
    case .delete(let id), .detach(let id), .rpcDisconnect(let id): return ["id": id]
    case .attach(let a):
      var d: [String: Any] = ["id": a.id, "drg": a.drg, "vni": Int(a.vni)]
      if let r = a.router { d["router"] = r }
      if let t = a.routeTable { d["route_table"] = t }
      return d
    case .ruleAdd(let a, let r): return ["attachment": a, "destination": r.destination.description, "target": r.target]
    case .ruleDelete(let a, let p): return ["attachment": a, "destination": p.description]
    case .rpcConnect(let id, let p): return ["id": id, "peer_gateway": p.gateway.description, "peer_routes": p.routes.map(\.description)]
    }
  }

  static func parse(_ op: String, _ a: inout StrictObject) throws(ControlError) -> DRGChange {
    switch op {
    case "drg.create": return .create(DynamicRoutingGateway(id: try a.identifier("id"), gatewayNode: try ControlRequest.ipv4(&a, "gateway_node", op: op)))
    case "drg.delete": return .delete(id: try a.identifier("id"))
    case "drg.attach", "rpc.create":
      let rpc = op == "rpc.create"
      let att = DRGAttachment(id: try a.identifier("id"), drg: try a.identifier("drg"), vni: UInt32(try a.int("vni", 1...0xff_ffff)),
                              router: rpc ? nil : try a.identifier("router"), routeTable: rpc ? nil : try a.optionalIdentifier("route_table"),
                              rpc: rpc)
      return .attach(att)
    case "drg.detach", "rpc.delete": return .detach(id: try a.identifier("id"))
    case "drg.rule.add":
      return .ruleAdd(attachment: try a.identifier("attachment"),
                      DRGRouteRule(destination: try ControlRequest.prefix(&a, "destination", op: op), target: try a.identifier("target")))
    case "drg.rule.delete":
      return .ruleDelete(attachment: try a.identifier("attachment"), destination: try ControlRequest.prefix(&a, "destination", op: op))
    case "rpc.connect":
      guard let list = try a.optionalList("peer_routes") else { throw .bad("\(op): field 'peer_routes' is required") }
      var routes: [IPv4Prefix] = []
      for case let text as String in list {
        guard let p = IPv4Prefix(text) else { throw .bad("\(op): field 'peer_routes': '\(text)' is not a prefix") }
        routes.append(p)
      }
      guard routes.count == list.count else { throw .bad("\(op): field 'peer_routes': a list of prefixes") }
      return .rpcConnect(id: try a.identifier("id"), RemotePeer(gateway: try ControlRequest.ipv4(&a, "peer_gateway", op: op), routes: routes))
    case "rpc.disconnect": return .rpcDisconnect(id: try a.identifier("id"))
    default: throw .bad("unknown op '\(op)'")
    }
  }
}

extension ControlState {
  mutating func applyDRG(_ c: DRGChange) throws(ControlError) {
    switch c {
    case .create(let d):
      guard drgs[d.id] == nil else { throw ControlError("exists", "DRG '\(d.id)' exists") }
      guard d.gatewayNode.isUnicastHost else { throw .bad("drg.create: gateway node \(d.gatewayNode) is not a unicast host address") }
      drgs[d.id] = d
    case .delete(let id):
      guard drgs[id] != nil else { throw ControlError("not-found", "no DRG '\(id)'") }
      if let a = drgAttachments.values.map(\.id).sorted().first(where: { drgAttachments[$0]!.drg == id }) {
        throw ControlError("in-use", "attachment '\(a)' belongs to DRG '\(id)'")
      }
      drgs[id] = nil
    case .attach(let att):
      guard drgAttachments[att.id] == nil else { throw ControlError("exists", "attachment '\(att.id)' exists") }
      guard drgs[att.drg] != nil else { throw ControlError("not-found", "no DRG '\(att.drg)'") }
      try checkVNIFree(att.vni, for: "attachment '\(att.id)'")
      if let r = att.router {
        guard routers[r] != nil else { throw ControlError("not-found", "no router '\(r)'") }
        if let other = drgAttachments.values.first(where: { $0.router == r }) {
          throw ControlError("conflict", "router '\(r)' is already attached to DRG '\(other.drg)' ('\(other.id)'): one DRG per VCN")
        }
        if let t = att.routeTable {
          guard let table = routeTables[t] else { throw ControlError("not-found", "no route table '\(t)'") }
          guard table.router == r else { throw ControlError("conflict", "route table '\(t)' belongs to router '\(table.router)', not '\(r)'") }
        }
      }
      drgAttachments[att.id] = att
    case .detach(let id):
      guard let att = drgAttachments[id] else { throw ControlError("not-found", "no attachment '\(id)'") }
      if att.peer != nil { throw ControlError("in-use", "RPC '\(id)' is connected: disconnect it first") }
      if let (t, rule) = drgRules(targeting: id).first { throw ControlError("in-use", "attachment '\(t)' routes \(rule.destination) to '\(id)'") }
      if let r = att.router, let (t, rule) = rules(targeting: .drg).first(where: { routeTables[$0.0]?.router == r }) {
        throw ControlError("in-use", "route table '\(t)' sends \(rule.destination) to the DRG")
      }
      drgAttachments[id] = nil
    case .ruleAdd(let id, let rule):
      guard var att = drgAttachments[id] else { throw ControlError("not-found", "no attachment '\(id)'") }
      guard let target = drgAttachments[rule.target] else { throw ControlError("not-found", "no attachment '\(rule.target)'") }
      guard target.drg == att.drg else { throw ControlError("conflict", "attachment '\(rule.target)' belongs to DRG '\(target.drg)', not '\(att.drg)'") }
      guard target.id != id else { throw .bad("drg.rule.add: a rule of '\(id)' cannot send packets back to '\(id)'") }
      if let first = att.rules.first(where: { $0.destination == rule.destination }) {
        throw ControlError("conflict", "the DRG route table of '\(id)' already has a rule for \(rule.destination) (to \(first.target)): one rule per destination")
      }
      att.rules.append(rule)
      drgAttachments[id] = att
    case .ruleDelete(let id, let destination):
      guard var att = drgAttachments[id] else { throw ControlError("not-found", "no attachment '\(id)'") }
      guard let k = att.rules.firstIndex(where: { $0.destination == destination }) else {
        throw ControlError("not-found", "the DRG route table of '\(id)' has no rule for \(destination)")
      }
      att.rules.remove(at: k)
      drgAttachments[id] = att
    case .rpcConnect(let id, let peer):
      guard var att = drgAttachments[id], att.rpc else { throw ControlError("not-found", "no RPC '\(id)'") }
      guard att.peer == nil else { throw ControlError("conflict", "RPC '\(id)' is already connected to \(att.peer!.gateway)") }
      guard peer.gateway.isUnicastHost else { throw .bad("rpc.connect: peer gateway \(peer.gateway) is not a unicast host address") }
      // The peer's routes must not overlap this region's VCNs on the same DRG.
      for other in drgAttachments.values.sorted(by: { $0.id < $1.id }) where other.drg == att.drg {
        guard let r = other.router.flatMap({ routers[$0] }) else { continue }
        if let (x, y) = overlap(peer.routes, r.addressSpace) {
          throw ControlError("conflict", "the peer's \(x) overlaps router '\(r.id)''s \(y): overlapping networks cannot be peered")
        }
      }
      att.peer = peer
      drgAttachments[id] = att
    case .rpcDisconnect(let id):
      guard let att = drgAttachments[id], att.rpc else { throw ControlError("not-found", "no RPC '\(id)'") }
      guard att.peer != nil else { throw ControlError("not-found", "RPC '\(id)' is not connected") }
      drgAttachments[id]!.peer = nil
    }
  }

  func checkVNIFree(_ vni: UInt32, for what: String) throws(ControlError) {
    if let n = networks.values.first(where: { $0.vni == vni }) { throw ControlError("conflict", "VNI \(vni) of \(what) is used by network '\(n.id)'") }
    if let a = drgAttachments.values.first(where: { $0.vni == vni }) {
      throw ControlError("conflict", "VNI \(vni) of \(what) is used by attachment '\(a.id)'")
    }
  }

  func drgRules(targeting id: String) -> [(String, DRGRouteRule)] {
    drgAttachments.values.sorted { $0.id < $1.id }.flatMap { a in a.rules.filter { $0.target == id }.map { (a.id, $0) } }
  }

  /// The DRG attachment of a router, if it has one.
  public func drgAttachment(ofRouter r: String) -> DRGAttachment? { drgAttachments.values.first { $0.router == r } }

  /// What an attachment offers the DRG's other attachments' tables: a VCN's address space
  /// and its attachment route table's destinations; a connected RPC's peer routes.
  public func offered(by a: DRGAttachment) -> [IPv4Prefix] {
    if let r = a.router.flatMap({ routers[$0] }) {
      return r.addressSpace + (a.routeTable.flatMap { routeTables[$0] }?.rules.map(\.destination) ?? [])
    }
    return a.peer?.routes ?? []
  }

  /// One route of an attachment's DRG route table.
  public struct DRGRoute: Equatable, Sendable {
    public var destination: IPv4Prefix
    public var target: String
    /// "static", or "imported from X".
    public var origin: String
  }

  /// The DRG route table of attachment `a`: its static rules, then what the DRG's other
  /// attachments offer (by attachment id; a destination already present is not imported
  /// again). A destination of `a`'s own never comes back to it.
  public func drgRoutes(of a: DRGAttachment) -> [DRGRoute] {
    var out = a.rules.map { DRGRoute(destination: $0.destination, target: $0.target, origin: "static") }
    var seen = Set(out.map(\.destination.description))
    for b in drgAttachments.values.sorted(by: { $0.id < $1.id }) where b.drg == a.drg && b.id != a.id {
      for p in offered(by: b) where !seen.contains(p.description) {
        seen.insert(p.description)
        out.append(DRGRoute(destination: p, target: b.id, origin: "imported from \(b.id)"))
      }
    }
    return out
  }
}

// MARK: - replies

/// A DRG attachment and its DRG route table, as `drg show` lists it.
public struct DRGAttachmentRow: Codable, Sendable, Equatable {
  public var drg: String
  public var gatewayNode: String
  public var attachment: String
  public var kind: String
  public var vni: Int
  public var routeTable: String?
  public var routes: [DRGRouteRow]
}

public struct DRGRouteRow: Codable, Sendable, Equatable {
  public var destination: String
  public var target: String
  public var origin: String
}

extension ControlState {
  public var drgRows: [DRGAttachmentRow] {
    drgAttachments.values.sorted { ($0.drg, $0.id) < ($1.drg, $1.id) }.map { a in
      DRGAttachmentRow(drg: a.drg, gatewayNode: drgs[a.drg]?.gatewayNode.description ?? "?", attachment: a.id, kind: a.kind,
                       vni: Int(a.vni), routeTable: a.routeTable,
                       routes: drgRoutes(of: a).map { DRGRouteRow(destination: $0.destination.description, target: $0.target, origin: $0.origin) })
    }
  }
}
