import Foundation
import Wire

/// One control request. On the wire (one JSON object per line on the Unix socket):
///
///     {"version": 1, "op": "network.create", "args": {"id": "net1", "tenant": "t1", "vni": 1001}}
///
/// Every request is validated completely before anything changes, and a change is
/// all-or-nothing; `batch` makes several changes one atomic change.
public enum ControlRequest: Equatable, Sendable {
  case networkCreate(Network)
  case networkDelete(id: String)
  case portCreate(LogicalPort)
  case portUpdate(id: String, location: PortLocation?, fixedIPs: [IPv4Address]?, portSecurity: Bool?)
  case portDelete(id: String)
  case fdbAdd(FDBEntry)
  case fdbDelete(network: String, mac: MACAddress)
  case batch([ControlRequest])
  case routerCreate(id: String, tenant: String)
  case routerDelete(id: String)
  case routerInterfaceAdd(router: String, RouterInterface)
  case routerInterfaceRemove(router: String, network: String)
  case routerRouteAdd(router: String, StaticRoute)
  case routerRouteDelete(router: String, prefix: IPv4Prefix)
  case chassisSet(Chassis)
  case chassisDelete(tunnelIP: IPv4Address)
  case show(ShowWhat)

  public enum ShowWhat: String, Sendable, CaseIterable {
    case state, node, networks, ports, fdb, tunnels, routers, routes, neighbors, counters, drops
  }

  public static let defaultUnderlayMTU = 1500

  /// True for requests that change state (and are persisted).
  public var isChange: Bool { if case .show = self { false } else { true } }

  /// Parses one request line strictly: unknown fields, wrong types, bad addresses and
  /// unsupported versions are errors that name what is wrong.
  public static func parse(_ data: Data) throws(ControlError) -> ControlRequest {
    var o = try StrictObject(json: data, context: "request")
    let version = try o.int("version", 0...Int(Int32.max))
    guard version == ControlProtocol.version else {
      throw ControlError("unsupported-version", "this gannetd speaks control protocol \(ControlProtocol.version), not \(version)")
    }
    let r = try parseBody(&o)
    try o.finish()
    return r
  }

  static func parseBody(_ o: inout StrictObject) throws(ControlError) -> ControlRequest {
    let op = try o.string("op")
    var a: StrictObject
    if let given = try o.optionalObject("args") { a = given } else { a = try StrictObject([String: Any](), context: op) }
    let r: ControlRequest
    switch op {
    case "network.create":
      let mtu = try a.optionalInt("mtu", 68...9000) ?? defaultUnderlayMTU - VXLANHeader.overhead
      r = .networkCreate(Network(
        id: try a.identifier("id"), tenant: try a.identifier("tenant"), vni: UInt32(try a.int("vni", 1...0xff_ffff)),
        mtu: mtu, learning: try a.optionalBool("learning") ?? false,
        learningLimit: try a.optionalInt("learning_limit", 1...1_000_000) ?? 4096,
        agingSeconds: try a.optionalInt("aging_seconds", 1...86_400) ?? 300))
    case "network.delete":
      r = .networkDelete(id: try a.identifier("id"))
    case "port.create":
      let id = try a.identifier("id"), network = try a.identifier("network"), mac = try a.mac("mac")
      guard let location = try location(&a, op: op) else { throw .bad("\(op): one of 'local' or 'remote' is required") }
      r = .portCreate(LogicalPort(id: id, network: network, mac: mac, fixedIPs: try a.optionalIPv4List("fixed_ips") ?? [],
                                  location: location, portSecurity: try a.optionalBool("port_security") ?? true))
    case "port.update":
      r = .portUpdate(id: try a.identifier("id"), location: try location(&a, op: op),
                      fixedIPs: try a.optionalIPv4List("fixed_ips"), portSecurity: try a.optionalBool("port_security"))
    case "port.delete":
      r = .portDelete(id: try a.identifier("id"))
    case "fdb.add":
      r = .fdbAdd(FDBEntry(network: try a.identifier("network"), mac: try a.mac("mac"), port: try a.identifier("port")))
    case "fdb.delete":
      r = .fdbDelete(network: try a.identifier("network"), mac: try a.mac("mac"))
    case "router.create":
      r = .routerCreate(id: try a.identifier("id"), tenant: try a.identifier("tenant"))
    case "router.delete":
      r = .routerDelete(id: try a.identifier("id"))
    case "router.interface.add":
      let id = try a.identifier("router"), network = try a.identifier("network")
      let text = try a.string("address")
      guard let p = IPv4Prefix(text), let gw = IPv4Address(text.split(separator: "/")[0]), gw != p.address,
            gw.value | ~IPv4Prefix.mask(p.length) != gw.value
      else { throw .bad("\(op): field 'address': '\(text)' is not a gateway address with its subnet's length (10.1.0.1/24)") }
      r = .routerInterfaceAdd(router: id, RouterInterface(network: network, address: gw, prefixLength: p.length, mac: try a.mac("mac")))
    case "router.interface.remove":
      r = .routerInterfaceRemove(router: try a.identifier("router"), network: try a.identifier("network"))
    case "router.route.add":
      r = .routerRouteAdd(router: try a.identifier("router"), StaticRoute(prefix: try prefix(&a, "prefix", op: op),
                                                                          nextHop: try ipv4(&a, "next_hop", op: op)))
    case "router.route.delete":
      r = .routerRouteDelete(router: try a.identifier("router"), prefix: try prefix(&a, "prefix", op: op))
    case "chassis.set":
      r = .chassisSet(Chassis(tunnelIP: try ipv4(&a, "tunnel_ip", op: op), dvrMAC: try a.mac("dvr_mac")))
    case "chassis.delete":
      r = .chassisDelete(tunnelIP: try ipv4(&a, "tunnel_ip", op: op))
    case "batch":
      guard let list = try a.optionalList("requests"), !list.isEmpty else { throw .bad("batch: 'requests' must be a non-empty list") }
      var out: [ControlRequest] = []
      for (i, item) in list.enumerated() {
        var sub = try StrictObject(item, context: "batch.requests[\(i)]")
        let r = try parseBody(&sub)
        try sub.finish()
        if case .batch = r { throw .bad("batch.requests[\(i)]: batches do not nest") }
        if case .show = r { throw .bad("batch.requests[\(i)]: show requests do not belong in a batch") }
        out.append(r)
      }
      r = .batch(out)
    default:
      if op.hasPrefix("show."), let what = ShowWhat(rawValue: String(op.dropFirst(5))) {
        r = .show(what)
      } else {
        throw ControlError("unknown-op", "unknown op '\(op)'; known: network.create, network.delete, port.create, "
          + "port.update, port.delete, fdb.add, fdb.delete, router.create, router.delete, router.interface.add, "
          + "router.interface.remove, router.route.add, router.route.delete, chassis.set, chassis.delete, batch, "
          + ShowWhat.allCases.map { "show.\($0.rawValue)" }.joined(separator: ", "))
      }
    }
    try a.finish()
    return r
  }

  static func prefix(_ a: inout StrictObject, _ key: String, op: String) throws(ControlError) -> IPv4Prefix {
    let text = try a.string(key)
    guard let p = IPv4Prefix(text) else { throw .bad("\(op): field '\(key)': '\(text)' is not an IPv4 prefix (10.2.0.0/24)") }
    return p
  }

  static func ipv4(_ a: inout StrictObject, _ key: String, op: String) throws(ControlError) -> IPv4Address {
    guard let ip = try a.optionalIPv4(key) else { throw .bad("\(op): field '\(key)': missing") }
    return ip
  }

  static func location(_ a: inout StrictObject, op: String) throws(ControlError) -> PortLocation? {
    let local = try a.optionalString("local"), remote = try a.optionalIPv4("remote")
    switch (local, remote) {
    case (nil, nil): return nil
    case (let l?, nil):
      do { _ = try PortSpecSyntax.check(l) } catch { throw .bad("\(op): field 'local': \(error.message)") }
      return .local(l)
    case (nil, let r?): return .remote(r)
    default: throw .bad("\(op): give 'local' or 'remote', not both")
    }
  }

  /// The wire form, for clients (gannetctl, tests).
  public func json() -> [String: Any] {
    ["version": ControlProtocol.version, "op": op, "args": args]
  }

  var op: String {
    switch self {
    case .networkCreate: "network.create"
    case .networkDelete: "network.delete"
    case .portCreate: "port.create"
    case .portUpdate: "port.update"
    case .portDelete: "port.delete"
    case .fdbAdd: "fdb.add"
    case .fdbDelete: "fdb.delete"
    case .batch: "batch"
    case .routerCreate: "router.create"
    case .routerDelete: "router.delete"
    case .routerInterfaceAdd: "router.interface.add"
    case .routerInterfaceRemove: "router.interface.remove"
    case .routerRouteAdd: "router.route.add"
    case .routerRouteDelete: "router.route.delete"
    case .chassisSet: "chassis.set"
    case .chassisDelete: "chassis.delete"
    case .show(let w): "show.\(w.rawValue)"
    }
  }

  var args: [String: Any] {
    func loc(_ l: PortLocation?) -> [String: Any] {
      switch l {
      case .local(let s)?: ["local": s]
      case .remote(let ip)?: ["remote": ip.description]
      case nil: [:]
      }
    }
    switch self {
    case .networkCreate(let n):
      return ["id": n.id, "tenant": n.tenant, "vni": Int(n.vni), "mtu": n.mtu, "learning": n.learning,
              "learning_limit": n.learningLimit, "aging_seconds": n.agingSeconds]
    case .networkDelete(let id), .portDelete(let id): return ["id": id]
    case .portCreate(let p):
      return ["id": p.id, "network": p.network, "mac": p.mac.description, "fixed_ips": p.fixedIPs.map(\.description),
              "port_security": p.portSecurity].merging(loc(p.location)) { a, _ in a }
    case .portUpdate(let id, let l, let ips, let sec):
      var d: [String: Any] = ["id": id]
      d.merge(loc(l)) { a, _ in a }
      if let ips { d["fixed_ips"] = ips.map(\.description) }
      if let sec { d["port_security"] = sec }
      return d
    case .fdbAdd(let e): return ["network": e.network, "mac": e.mac.description, "port": e.port]
    case .fdbDelete(let n, let m): return ["network": n, "mac": m.description]
    case .batch(let rs): return ["requests": rs.map { ["op": $0.op, "args": $0.args] }]
    case .routerCreate(let id, let t): return ["id": id, "tenant": t]
    case .routerDelete(let id): return ["id": id]
    case .routerInterfaceAdd(let id, let i):
      return ["router": id, "network": i.network, "address": "\(i.address)/\(i.prefixLength)", "mac": i.mac.description]
    case .routerInterfaceRemove(let id, let n): return ["router": id, "network": n]
    case .routerRouteAdd(let id, let r): return ["router": id, "prefix": r.prefix.description, "next_hop": r.nextHop.description]
    case .routerRouteDelete(let id, let p): return ["router": id, "prefix": p.description]
    case .chassisSet(let c): return ["tunnel_ip": c.tunnelIP.description, "dvr_mac": c.dvrMAC.description]
    case .chassisDelete(let ip): return ["tunnel_ip": ip.description]
    case .show: return [:]
    }
  }
}

/// Port spec syntax, checked on the control side without opening anything. (The full
/// parser lives in IO; Control does not depend on the I/O backends.)
public enum PortSpecSyntax {
  public static func check(_ text: String) throws(ControlError) -> String {
    let kinds = ["af-packet:", "dpdk:net_"]
    guard kinds.contains(where: { text.hasPrefix($0) }), text.count > 10 || text.hasPrefix("dpdk:net_") else {
      throw .bad("'\(text)' is not a local port spec (af-packet:IFNAME or dpdk:net_…)")
    }
    return text
  }
}
