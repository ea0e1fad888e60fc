import Wire

extension ControlState {
  /// Applies a change request to a copy of the state and returns it, or throws and
  /// leaves nothing changed. Pure: no I/O (opening interfaces is the daemon's commit step).
  public func applying(_ r: ControlRequest) throws(ControlError) -> ControlState {
    var s = self
    try s.apply(r)
    try s.checkFloatingIPs()
    s.generation = generation + 1
    return s
  }

  mutating func apply(_ r: ControlRequest) throws(ControlError) {
    switch r {
    case .networkCreate(let n):
      guard networks[n.id] == nil else { throw ControlError("exists", "network '\(n.id)' exists") }
      if let other = networks.values.first(where: { $0.vni == n.vni }) {
        throw ControlError("conflict", "VNI \(n.vni) is used by network '\(other.id)'")
      }
      if let a = drgAttachments.values.first(where: { $0.vni == n.vni }) {
        throw ControlError("conflict", "VNI \(n.vni) is used by attachment '\(a.id)'")
      }
      try checkLists(n.securityLists, of: n)
      networks[n.id] = n
    case .networkDelete(let id):
      guard networks[id] != nil else { throw ControlError("not-found", "no network '\(id)'") }
      if let (r, _) = routerInterface(of: id) {
        throw ControlError("in-use", "network '\(id)' is attached to router '\(r.id)'")
      }
      let users = ports.values.filter { $0.network == id }.map(\.id).sorted()
      guard users.isEmpty else { throw ControlError("in-use", "network '\(id)' still has ports: \(users.joined(separator: ", "))") }
      networks[id] = nil
      fdb.removeAll { $0.network == id }
    case .portCreate(let p):
      try createPort(p, index: nil)
    case .portUpdate(let id, let location, let ips, let sec, let groups, let node):
      guard var p = ports[id] else { throw ControlError("not-found", "no port '\(id)'") }
      if let node {
        guard p.node != nil else { throw .bad("port.update: 'node' binds ports of the cloud's state (gannetctl --cloud), not a node's") }
        p.node = node
      }
      if let location {
        if case .remote = location { try checkNoFlowNames(port: id) }
        p.location = location
      }
      if let ips { p.fixedIPs = ips }
      if let sec { p.portSecurity = sec }
      if let groups { p.securityGroups = groups }
      ports[id] = nil
      try validate(p)
      ports[id] = p
    case .portDelete(let id):
      guard ports[id] != nil else { throw ControlError("not-found", "no port '\(id)'") }
      try checkNoFlowNames(port: id)
      ports[id] = nil
      fdb.removeAll { $0.port == id }
    case .fdbAdd(let e):
      guard networks[e.network] != nil else { throw ControlError("not-found", "no network '\(e.network)'") }
      guard let p = ports[e.port] else { throw ControlError("not-found", "no port '\(e.port)'") }
      guard p.network == e.network else {
        throw ControlError("conflict", "port '\(e.port)' is on network '\(p.network)', not '\(e.network)'")
      }
      guard e.mac.isUnicast, e.mac != .zero else { throw .bad("fdb.add: \(e.mac) is not a unicast MAC") }
      if fdb.contains(where: { $0.network == e.network && $0.mac == e.mac })
        || ports.values.contains(where: { $0.network == e.network && $0.mac == e.mac }) {
        throw ControlError("conflict", "MAC \(e.mac) is already in network '\(e.network)'")
      }
      fdb.append(e)
    case .fdbDelete(let n, let m):
      guard let i = fdb.firstIndex(where: { $0.network == n && $0.mac == m }) else {
        throw ControlError("not-found", "no static FDB entry for \(m) in network '\(n)'")
      }
      fdb.remove(at: i)
    case .batch(let rs):
      for (i, sub) in rs.enumerated() {
        do { try apply(sub) } catch { throw ControlError(error.code, "batch.requests[\(i)]: \(error.message)") }
      }
    case .routerCreate, .routerDelete, .routerInterfaceAdd, .routerInterfaceRemove, .routerRouteAdd, .routerRouteDelete,
         .chassisSet, .chassisDelete:
      try applyRouting(r)
    case .routerGatewaySet, .routerGatewayClear, .floatingIPCreate, .floatingIPAssociate, .floatingIPDisassociate, .floatingIPDelete:
      try applyExternal(r)
    case .networkUpdate, .securityGroupCreate, .securityGroupDelete, .securityGroupRuleAdd, .securityGroupRuleDelete,
         .securityListCreate, .securityListDelete, .securityListRuleAdd, .securityListRuleDelete:
      try applySecurity(r)
    case .flowAdd, .flowDelete:
      try applyFlow(r)
    case .peering(let c):
      try applyPeering(c)
    case .drg(let c):
      try applyDRG(c)
    case .stateReplace(let desired, _):
      self = try replaced(by: desired)
    case .agentReport, .show, .showSessions, .showConntrack, .conntrackFlush, .captureStart, .captureStatus, .captureStop, .traceStart, .traceShow, .traceStop,
         .tracePacket, .dumpFlows:
      throw .bad("show requests change nothing")
    }
  }

  /// `port.create`; `index`: the state's ports indexed (`validated`), kept up to date.
  mutating func createPort(_ port: LogicalPort, index: PortIndex?) throws(ControlError) {
    var p = port
    guard ports[p.id] == nil else { throw ControlError("exists", "port '\(p.id)' exists") }
    // Not given: the tenant's default group (Neutron's behaviour), when port security is on.
    if p.securityGroups == nil {
      let tenant = p.tenant ?? networks[p.network]?.tenant
      p.securityGroups = p.portSecurity ? tenant.flatMap(defaultGroup(ofTenant:)).map { [$0] } ?? [] : []
    }
    try validate(p, index: index)
    ports[p.id] = p
    index?.add(p)
  }

  /// Checks a port against everything else in the state (the port itself is not in it).
  /// `index`: the state's ports indexed, for checking many ports at once (else each check
  /// scans every port).
  func validate(_ p: LogicalPort, index: PortIndex? = nil) throws(ControlError) {
    guard let net = networks[p.network] else { throw ControlError("not-found", "no network '\(p.network)'") }
    if let t = p.tenant, t != net.tenant, net.delegatedTo != t {
      throw ControlError("forbidden", "port '\(p.id)' of tenant '\(t)': network '\(p.network)' of tenant '\(net.tenant)' is not delegated to it")
    }
    try checkGroups(p)
    guard p.mac.isUnicast, p.mac != .zero else { throw .bad("port '\(p.id)': \(p.mac) is not a unicast MAC") }
    if case .remote(let vtep) = p.location, !vtep.isUnicastHost {
      throw .bad("port '\(p.id)': remote tunnel IP \(vtep) is not a unicast host address")
    }
    for ip in p.fixedIPs where !ip.isUnicastHost {
      throw .bad("port '\(p.id)': fixed IP \(ip) is not a unicast host address")
    }
    if let other = index.map({ $0.macs[p.network]?[p.mac] }) ?? ports.values.first(where: { $0.network == p.network && $0.mac == p.mac })?.id {
      throw ControlError("conflict", "MAC \(p.mac) is already used by port '\(other)' in network '\(p.network)'")
    }
    if fdb.contains(where: { $0.network == p.network && $0.mac == p.mac }) {
      throw ControlError("conflict", "MAC \(p.mac) has a static FDB entry in network '\(p.network)'")
    }
    if let (r, i) = routerInterface(of: p.network), p.fixedIPs.contains(i.address) || p.mac == i.mac {
      throw ControlError("conflict", "port '\(p.id)': \(i.address) / \(i.mac) is router '\(r.id)''s gateway on '\(p.network)'")
    }
    for ip in p.fixedIPs {
      if let other = index.map({ $0.ips[p.network]?[ip] }) ?? ports.values.first(where: { $0.network == p.network && $0.fixedIPs.contains(ip) })?.id {
        throw ControlError("conflict", "IP \(ip) is already used by port '\(other)' in network '\(p.network)'")
      }
    }
    if case .local(let spec) = p.location,
       let other = index.map({ $0.specs[PortIndex.attachment(spec, p.node)] })
         ?? ports.values.first(where: { $0.location == .local(spec) && $0.node == p.node })?.id {
      throw ControlError("conflict", "interface \(spec) is already attached to port '\(other)'\(p.node.map { " on node '\($0)'" } ?? "")")
    }
  }
}

extension ControlState {
  /// The state `requests` make from an empty one, applied in order as separate commits
  /// (benchmarks, tests and fixtures build their data planes from requests this way).
  public init(requests: [ControlRequest]) throws(ControlError) {
    var s = ControlState()
    for r in requests { s = try s.applying(r) }
    self = s
  }
}

/// A state's ports by (network, MAC), (network, IP) and attachment, so that checking many
/// ports at once (`validated`: a state file, a cloud agent's program of 100,000 ports) costs
/// hash lookups per port instead of scans of every port. Lives for one check; one thread.
final class PortIndex {
  var macs: [String: [MACAddress: String]] = [:]
  var ips: [String: [IPv4Address: String]] = [:]
  var specs: [String: String] = [:]

  static func attachment(_ spec: String, _ node: String?) -> String { (node ?? "") + "|" + spec }

  func add(_ p: LogicalPort) {
    macs[p.network, default: [:]][p.mac] = p.id
    for ip in p.fixedIPs { ips[p.network, default: [:]][ip] = p.id }
    if case .local(let spec) = p.location { specs[Self.attachment(spec, p.node)] = p.id }
  }
}
