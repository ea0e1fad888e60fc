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
  /// `node`: cloud state only (`gannetctl --cloud`): re-binds the port to another node.
  case portUpdate(id: String, location: PortLocation?, fixedIPs: [IPv4Address]?, portSecurity: Bool?, securityGroups: [String]? = nil,
                  node: String? = nil)
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
  case routerGatewaySet(router: String, ExternalGateway)
  case routerGatewayClear(router: String)
  case floatingIPCreate(FloatingIP)
  case floatingIPAssociate(address: IPv4Address, port: String, fixedIP: IPv4Address?)
  case floatingIPDisassociate(address: IPv4Address)
  case floatingIPDelete(address: IPv4Address)
  case networkUpdate(id: String, securityLists: [String]?)
  case securityGroupCreate(SecurityGroup)
  case securityGroupDelete(id: String)
  case securityGroupRuleAdd(group: String, SecurityGroupRule)
  case securityGroupRuleDelete(group: String, rule: String)
  case securityListCreate(SecurityList)
  case securityListDelete(id: String)
  case securityListRuleAdd(list: String, SecurityListRule)
  case securityListRuleDelete(list: String, rule: String)
  case show(ShowWhat)
  case showSessions(SessionFilter)
  /// Tracked connections of security groups and lists (`show.conntrack`), or removes them
  /// (`conntrack.flush`: operational, not persisted: they are tracked again if rules admit).
  case showConntrack(ConntrackFilter)
  case conntrackFlush(ConntrackFilter)
  /// Operator flows (`Flows.swift`): persisted, all-or-nothing like every change.
  case flowAdd(OperatorFlow)
  case flowDelete(id: String)
  /// Capture to a pcap file and live / dry-run trace (`Observe.swift`): operational, not persisted.
  case captureStart(CaptureRequest)
  case captureStatus
  case captureStop
  case traceStart(TraceRequest)
  case traceShow
  case traceStop
  case tracePacket(TracePacketRequest)
  /// Every compiled table entry with its hits (`dump-flows`).
  case dumpFlows(DumpFlowsFilter)
  /// CIDR blocks, route tables and local peering (`Peering.swift`).
  case peering(PeeringChange)
  /// Dynamic routing gateways, attachments and remote peering (`DRG.swift`).
  case drg(DRGChange)
  /// The node's whole program from its cloud agent (`gannet-agent`), derived from etcd at
  /// `revision`: replaces every object but the node's operator flows, validated with the
  /// protocol's rules, all-or-nothing like every change.
  case stateReplace(ControlState, revision: Int64)
  /// The cloud agent's view of etcd (`show node`, metrics). Operational, not persisted.
  case agentReport(AgentStatus)

  public enum ShowWhat: String, Sendable, CaseIterable {
    case state, node, networks, ports, fdb, tunnels, routers, routes, neighbors, counters, drops, fips, gateways, nat, runtime, flows
    case securityGroups = "security_groups", securityLists = "security_lists", routeTables = "route_tables", lpgs, drgs
  }

  /// True for requests that change state (and are persisted).
  public var isChange: Bool {
    switch self {
    case .show, .showSessions, .showConntrack, .conntrackFlush, .captureStart, .captureStatus, .captureStop, .traceStart, .traceShow,
         .traceStop, .tracePacket, .dumpFlows, .agentReport: false
    default: true
    }
  }

  /// Parses one request line strictly: unknown fields, wrong types, bad addresses and
  /// unsupported versions are errors that name what is wrong.
  public static func parse(_ data: Data) throws(ControlError) -> ControlRequest {
    if let r = try StateReplaceLine.parse(data) { return r }
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
      let mtu = try a.optionalInt("mtu", 68...9000)
      r = .networkCreate(Network(
        id: try a.identifier("id"), tenant: try a.identifier("tenant"), vni: UInt32(try a.int("vni", 1...0xff_ffff)),
        mtu: mtu, learning: try a.optionalBool("learning") ?? false,
        learningLimit: try a.optionalInt("learning_limit", 1...1_000_000) ?? 4096,
        agingSeconds: try a.optionalInt("aging_seconds", 1...86_400) ?? 300,
        securityLists: try a.optionalIdentifierList("security_lists") ?? []))
    case "network.delete":
      r = .networkDelete(id: try a.identifier("id"))
    case "port.create":
      let id = try a.identifier("id"), network = try a.identifier("network"), mac = try a.mac("mac")
      guard let location = try location(&a, op: op) else { throw .bad("\(op): one of 'local' or 'remote' is required") }
      r = .portCreate(LogicalPort(id: id, network: network, mac: mac, fixedIPs: try a.optionalIPv4List("fixed_ips") ?? [],
                                  location: location, portSecurity: try a.optionalBool("port_security") ?? true,
                                  securityGroups: try a.optionalIdentifierList("security_groups"), tenant: try a.optionalIdentifier("tenant"),
                                  node: try a.optionalIdentifier("node")))
    case "port.update":
      r = .portUpdate(id: try a.identifier("id"), location: try location(&a, op: op),
                      fixedIPs: try a.optionalIPv4List("fixed_ips"), portSecurity: try a.optionalBool("port_security"),
                      securityGroups: try a.optionalIdentifierList("security_groups"), node: try a.optionalIdentifier("node"))
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
      guard let (gw, length) = RouterInterface.gateway(text)
      else { throw .bad("\(op): field 'address': '\(text)' is not a gateway address with its subnet's length (10.1.0.1/24)") }
      r = .routerInterfaceAdd(router: id, RouterInterface(network: network, address: gw, prefixLength: length, mac: try a.mac("mac")))
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
    case "router.gateway.set":
      let id = try a.identifier("router")
      let text = try a.string("external_ip")
      guard let (ip, length) = IPv4Prefix.addressAndLength(text) else {
        throw .bad("\(op): field 'external_ip': '\(text)' is not an address with its subnet's length (203.0.113.10/24)")
      }
      var g = ExternalGateway(externalIP: ip, prefixLength: length, upstream: try ipv4(&a, "upstream", op: op), mac: try a.mac("mac"),
                              snatNode: try ipv4(&a, "snat_node", op: op))
      if let range = try a.optionalString("port_range") {
        guard let (lo, hi) = ExternalGateway.portRange(range) else {
          throw .bad("\(op): field 'port_range': '\(range)' is not LOW-HIGH (1024-65535)")
        }
        g.portLow = lo
        g.portHigh = hi
      }
      r = .routerGatewaySet(router: id, g)
    case "router.gateway.clear":
      r = .routerGatewayClear(router: try a.identifier("router"))
    case "fip.create":
      r = .floatingIPCreate(FloatingIP(address: try ipv4(&a, "ip", op: op), port: try a.optionalIdentifier("port"),
                                       fixedIP: try a.optionalIPv4("fixed_ip")))
    case "fip.associate":
      r = .floatingIPAssociate(address: try ipv4(&a, "ip", op: op), port: try a.identifier("port"), fixedIP: try a.optionalIPv4("fixed_ip"))
    case "fip.disassociate":
      r = .floatingIPDisassociate(address: try ipv4(&a, "ip", op: op))
    case "fip.delete":
      r = .floatingIPDelete(address: try ipv4(&a, "ip", op: op))
    case "network.update":
      r = .networkUpdate(id: try a.identifier("id"), securityLists: try a.optionalIdentifierList("security_lists"))
    case "sg.create":
      let id = try a.identifier("id")
      r = .securityGroupCreate(SecurityGroup(id: id, tenant: try a.identifier("tenant"), name: try a.optionalIdentifier("name")))
    case "sg.delete":
      r = .securityGroupDelete(id: try a.identifier("id"))
    case "sg.rule.add":
      let group = try a.identifier("group"), id = try a.identifier("id")
      let direction = try Self.direction(&a, op: op)
      let match = try Self.l4Match(&a, op: op)
      r = .securityGroupRuleAdd(group: group, SecurityGroupRule(id: id, direction: direction, match: match,
                                                                remoteCIDR: try Self.optionalPrefix(&a, "remote_cidr", op: op),
                                                                remoteGroup: try a.optionalIdentifier("remote_group")))
    case "sg.rule.delete":
      r = .securityGroupRuleDelete(group: try a.identifier("group"), rule: try a.identifier("id"))
    case "seclist.create":
      r = .securityListCreate(SecurityList(id: try a.identifier("id"), tenant: try a.identifier("tenant")))
    case "seclist.delete":
      r = .securityListDelete(id: try a.identifier("id"))
    case "seclist.rule.add":
      let list = try a.identifier("list"), id = try a.identifier("id")
      let direction = try Self.direction(&a, op: op)
      let stateless = try a.optionalBool("stateless") ?? false
      let cidr = try Self.prefix(&a, "cidr", op: op)
      r = .securityListRuleAdd(list: list, SecurityListRule(id: id, direction: direction, stateless: stateless, cidr: cidr,
                                                            match: try Self.l4Match(&a, op: op)))
    case "seclist.rule.delete":
      r = .securityListRuleDelete(list: try a.identifier("list"), rule: try a.identifier("id"))
    case "show.conntrack", "conntrack.flush":
      var f = ConntrackFilter()
      f.port = try a.optionalIdentifier("port")
      if let text = try a.optionalString("proto") {
        guard let p = L4Match.proto(text), let n = p else { throw .bad("\(op): field 'proto': '\(text)' is not tcp, udp, icmp or 0-255") }
        f.proto = n
      }
      f.limit = try a.optionalInt("limit", 1...10_000_000) ?? 1000
      r = op == "show.conntrack" ? .showConntrack(f) : .conntrackFlush(f)
    case "show.sessions":
      var f = SessionFilter()
      f.router = try a.optionalIdentifier("router")
      f.insideIP = try a.optionalIPv4("inside_ip")
      f.remoteIP = try a.optionalIPv4("remote_ip")
      f.externalIP = try a.optionalIPv4("external_ip")
      if let proto = try a.optionalString("proto") {
        guard ["tcp", "udp", "icmp"].contains(proto) else { throw .bad("\(op): field 'proto': '\(proto)' is not tcp, udp or icmp") }
        f.proto = proto
      }
      f.limit = try a.optionalInt("limit", 1...10_000_000) ?? 1000
      r = .showSessions(f)
    case "dump.flows":
      r = try Self.parseDumpFlows(&a)
    case "state.replace":
      guard let st = try a.optionalDecoded("state", as: ControlState.self) else { throw .bad("\(op): field 'state' is required") }
      r = .stateReplace(st, revision: Int64(try a.int("revision", 0...Int.max)))
    case "agent.report":
      guard let status = try a.optionalDecoded("status", as: AgentStatus.self) else { throw .bad("\(op): field 'status' is required") }
      r = .agentReport(status)
    case _ where PeeringChange.ops.contains(op):
      r = .peering(try PeeringChange.parse(op, &a))
    case _ where DRGChange.ops.contains(op):
      r = .drg(try DRGChange.parse(op, &a))
    case "flow.add", "flow.delete":
      r = try Self.parseFlow(op, &a)
    case _ where Self.observeOps.contains(op):
      r = try Self.parseObserve(op, &a)
    case "batch":
      guard let list = try a.optionalList("requests"), !list.isEmpty else { throw .bad("batch: 'requests' must be a non-empty list") }
      var out: [ControlRequest] = []
      for (i, item) in list.enumerated() {
        var sub = try StrictObject(item, context: "batch.requests[\(i)]")
        let r = try parseBody(&sub)
        try sub.finish()
        if case .batch = r { throw .bad("batch.requests[\(i)]: batches do not nest") }
        if !r.isChange { throw .bad("batch.requests[\(i)]: show requests do not belong in a batch") }
        out.append(r)
      }
      r = .batch(out)
    default:
      if op.hasPrefix("show."), let what = ShowWhat(rawValue: String(op.dropFirst(5))) {
        r = .show(what)
      } else {
        throw ControlError("unknown-op", "unknown op '\(op)'; known: network.create, network.delete, port.create, "
          + "port.update, port.delete, fdb.add, fdb.delete, router.create, router.delete, router.interface.add, "
          + "router.interface.remove, router.route.add, router.route.delete, chassis.set, chassis.delete, "
          + "router.gateway.set, router.gateway.clear, fip.create, fip.associate, fip.disassociate, fip.delete, batch, show.sessions, "
          + "flow.add, flow.delete, dump.flows, capture.start, capture.status, capture.stop, trace.start, trace.show, trace.stop, trace.packet, "
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

  static func optionalPrefix(_ a: inout StrictObject, _ key: String, op: String) throws(ControlError) -> IPv4Prefix? {
    guard let text = try a.optionalString(key) else { return nil }
    guard let p = IPv4Prefix(text) else { throw .bad("\(op): field '\(key)': '\(text)' is not an IPv4 prefix (10.2.0.0/24)") }
    return p
  }

  static func direction(_ a: inout StrictObject, op: String) throws(ControlError) -> TrafficDirection {
    let text = try a.string("direction")
    guard let d = TrafficDirection(rawValue: text) else { throw .bad("\(op): field 'direction': '\(text)' is not ingress or egress") }
    return d
  }

  /// protocol (any|tcp|udp|icmp|0-255), port_min/port_max, source_port_min/source_port_max,
  /// icmp_type/icmp_code; whether they agree is checked when the rule is applied.
  static func l4Match(_ a: inout StrictObject, op: String) throws(ControlError) -> L4Match {
    var m = L4Match()
    if let text = try a.optionalString("protocol") {
      guard let p = L4Match.proto(text) else { throw .bad("\(op): field 'protocol': '\(text)' is not any, tcp, udp, icmp or 0-255") }
      m.proto = p
    }
    m.portMin = try a.optionalInt("port_min", 0...65535)
    m.portMax = try a.optionalInt("port_max", 0...65535)
    m.sourcePortMin = try a.optionalInt("source_port_min", 0...65535)
    m.sourcePortMax = try a.optionalInt("source_port_max", 0...65535)
    m.icmpType = try a.optionalInt("icmp_type", 0...255)
    m.icmpCode = try a.optionalInt("icmp_code", 0...255)
    return m
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
      do { _ = try PortSpec(parsing: l) } catch { throw .bad("\(op): field 'local': \(error.message)") }
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
    case .routerGatewaySet: "router.gateway.set"
    case .routerGatewayClear: "router.gateway.clear"
    case .floatingIPCreate: "fip.create"
    case .floatingIPAssociate: "fip.associate"
    case .floatingIPDisassociate: "fip.disassociate"
    case .floatingIPDelete: "fip.delete"
    case .networkUpdate: "network.update"
    case .securityGroupCreate: "sg.create"
    case .securityGroupDelete: "sg.delete"
    case .securityGroupRuleAdd: "sg.rule.add"
    case .securityGroupRuleDelete: "sg.rule.delete"
    case .securityListCreate: "seclist.create"
    case .securityListDelete: "seclist.delete"
    case .securityListRuleAdd: "seclist.rule.add"
    case .securityListRuleDelete: "seclist.rule.delete"
    case .show(let w): "show.\(w.rawValue)"
    case .showSessions: "show.sessions"
    case .showConntrack: "show.conntrack"
    case .conntrackFlush: "conntrack.flush"
    case .flowAdd: "flow.add"
    case .flowDelete: "flow.delete"
    case .captureStart: "capture.start"
    case .captureStatus: "capture.status"
    case .captureStop: "capture.stop"
    case .traceStart: "trace.start"
    case .traceShow: "trace.show"
    case .traceStop: "trace.stop"
    case .tracePacket: "trace.packet"
    case .dumpFlows: "dump.flows"
    case .stateReplace: "state.replace"
    case .agentReport: "agent.report"
    case .peering(let c): c.op
    case .drg(let c): c.op
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
      var d: [String: Any] = ["id": n.id, "tenant": n.tenant, "vni": Int(n.vni), "learning": n.learning,
                              "learning_limit": n.learningLimit, "aging_seconds": n.agingSeconds]
      if let mtu = n.mtu { d["mtu"] = mtu }
      if !n.securityLists.isEmpty { d["security_lists"] = n.securityLists }
      return d
    case .networkDelete(let id), .portDelete(let id): return ["id": id]
    case .portCreate(let p):
      var d: [String: Any] = ["id": p.id, "network": p.network, "mac": p.mac.description, "fixed_ips": p.fixedIPs.map(\.description),
                              "port_security": p.portSecurity]
      d.merge(loc(p.location)) { a, _ in a }
      if let g = p.securityGroups { d["security_groups"] = g }
      if let t = p.tenant { d["tenant"] = t }
      if let n = p.node { d["node"] = n }
      return d
    case .portUpdate(let id, let l, let ips, let sec, let groups, let node):
      var d: [String: Any] = ["id": id]
      if let node { d["node"] = node }
      d.merge(loc(l)) { a, _ in a }
      if let ips { d["fixed_ips"] = ips.map(\.description) }
      if let sec { d["port_security"] = sec }
      if let groups { d["security_groups"] = groups }
      return d
    case .networkUpdate(let id, let lists):
      var d: [String: Any] = ["id": id]
      if let lists { d["security_lists"] = lists }
      return d
    case .securityGroupCreate(let g): return ["id": g.id, "tenant": g.tenant, "name": g.name]
    case .securityGroupDelete(let id), .securityListDelete(let id): return ["id": id]
    case .securityGroupRuleAdd(let g, let rule):
      var d: [String: Any] = ["group": g, "id": rule.id, "direction": rule.direction.rawValue].merging(rule.match.args) { a, _ in a }
      if let c = rule.remoteCIDR { d["remote_cidr"] = c.description }
      if let rg = rule.remoteGroup { d["remote_group"] = rg }
      return d
    case .securityGroupRuleDelete(let g, let id): return ["group": g, "id": id]
    case .securityListCreate(let l): return ["id": l.id, "tenant": l.tenant]
    case .securityListRuleAdd(let l, let rule):
      return ["list": l, "id": rule.id, "direction": rule.direction.rawValue, "stateless": rule.stateless,
              "cidr": rule.cidr.description].merging(rule.match.args) { a, _ in a }
    case .securityListRuleDelete(let l, let id): return ["list": l, "id": id]
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
    case .routerGatewaySet(let id, let g):
      return ["router": id, "external_ip": "\(g.externalIP)/\(g.prefixLength)", "upstream": g.upstream.description,
              "mac": g.mac.description, "snat_node": g.snatNode.description, "port_range": "\(g.portLow)-\(g.portHigh)"]
    case .routerGatewayClear(let id): return ["router": id]
    case .floatingIPCreate(let f):
      var d: [String: Any] = ["ip": f.address.description]
      if let p = f.port { d["port"] = p }
      if let ip = f.fixedIP { d["fixed_ip"] = ip.description }
      return d
    case .floatingIPAssociate(let ip, let port, let fixed):
      var d: [String: Any] = ["ip": ip.description, "port": port]
      if let fixed { d["fixed_ip"] = fixed.description }
      return d
    case .floatingIPDisassociate(let ip), .floatingIPDelete(let ip): return ["ip": ip.description]
    case .showSessions(let f):
      var d: [String: Any] = ["limit": f.limit]
      if let v = f.router { d["router"] = v }
      if let v = f.insideIP { d["inside_ip"] = v.description }
      if let v = f.remoteIP { d["remote_ip"] = v.description }
      if let v = f.externalIP { d["external_ip"] = v.description }
      if let v = f.proto { d["proto"] = v }
      return d
    case .showConntrack(let f), .conntrackFlush(let f):
      var d: [String: Any] = ["limit": f.limit]
      if let p = f.port { d["port"] = p }
      if let p = f.proto { d["proto"] = L4Match(proto: p).protocolName }
      return d
    case .show: return [:]
    case .captureStart, .captureStatus, .captureStop, .traceStart, .traceShow, .traceStop, .tracePacket: return observeArgs
    case .flowAdd, .flowDelete: return flowArgs
    case .dumpFlows: return dumpFlowsArgs
    case .peering(let c): return c.args
    case .drg(let c): return c.args
    case .stateReplace(let st, let revision): return ["state": Self.jsonObject(st), "revision": Int(revision)]
    case .agentReport(let status): return ["status": Self.jsonObject(status)]
    }
  }
}

extension ControlRequest {
  /// A Codable value as the JSON object `args` carries.
  static func jsonObject(_ v: some Encodable) -> Any {
    guard let data = try? JSONEncoder().encode(v), let o = try? JSONSerialization.jsonObject(with: data) else { return [String: Any]() }
    return o
  }
}

extension RouterInterface {
  /// Parses a gateway address with its subnet's length ("10.1.0.1/24"): a unicast host
  /// address of that subnet. nil for anything else.
  public static func gateway(_ text: String) -> (IPv4Address, Int)? {
    guard let (gw, length) = IPv4Prefix.addressAndLength(text), gw != IPv4Prefix(gw, length).address,
          gw.value | ~IPv4Prefix.mask(length) != gw.value, gw.isUnicastHost else { return nil }
    return (gw, length)
  }
}

extension ExternalGateway {
  /// Parses "LOW-HIGH" (decimal; the range itself is checked when applied).
  public static func portRange(_ text: String) -> (Int, Int)? {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]) else { return nil }
    return (lo, hi)
  }
}

extension L4Match {
  /// The request fields of this match (protocol, ports, ICMP type and code).
  var args: [String: Any] {
    var d: [String: Any] = ["protocol": protocolName]
    if let v = portMin { d["port_min"] = v }
    if let v = portMax { d["port_max"] = v }
    if let v = sourcePortMin { d["source_port_min"] = v }
    if let v = sourcePortMax { d["source_port_max"] = v }
    if let v = icmpType { d["icmp_type"] = v }
    if let v = icmpCode { d["icmp_code"] = v }
    return d
  }
}

/// Which tracked connections `show.conntrack` and `conntrack.flush` mean: a port's, a
/// protocol's, at most `limit` (show only).
public struct ConntrackFilter: Equatable, Sendable {
  public var port: String?
  public var proto: UInt8?
  public var limit: Int
  public init(port: String? = nil, proto: UInt8? = nil, limit: Int = 1000) {
    self.port = port
    self.proto = proto
    self.limit = limit
  }
}
