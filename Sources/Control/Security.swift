import Wire

/// Which way a packet crosses a port, seen from the VM: `ingress` is delivered to it,
/// `egress` sent by it.
public enum TrafficDirection: String, Codable, Sendable, CaseIterable { case ingress, egress }

/// The layer-4 part of a filtering rule. `proto` nil matches every protocol; port ranges
/// apply to TCP and UDP only, ICMP type and code to ICMP only (nil: any).
public struct L4Match: Codable, Equatable, Sendable, Hashable {
  public var proto: UInt8?
  public var portMin: Int?
  public var portMax: Int?
  /// Source ports (security lists only).
  public var sourcePortMin: Int?
  public var sourcePortMax: Int?
  public var icmpType: Int?
  public var icmpCode: Int?
  public init(proto: UInt8? = nil, portMin: Int? = nil, portMax: Int? = nil, sourcePortMin: Int? = nil, sourcePortMax: Int? = nil,
              icmpType: Int? = nil, icmpCode: Int? = nil) {
    self.proto = proto
    self.portMin = portMin
    self.portMax = portMax
    self.sourcePortMin = sourcePortMin
    self.sourcePortMax = sourcePortMax
    self.icmpType = icmpType
    self.icmpCode = icmpCode
  }

  /// "any", "tcp", "udp", "icmp" or the protocol number.
  public var protocolName: String {
    switch proto {
    case nil: "any"
    case 6?: "tcp"
    case 17?: "udp"
    case 1?: "icmp"
    case let p?: "\(p)"
    }
  }

  /// Parses a protocol name or number 0–255 ("any" is nil).
  public static func proto(_ text: String) -> UInt8?? {
    switch text {
    case "any": return .some(nil)
    case "tcp": return 6
    case "udp": return 17
    case "icmp": return 1
    default:
      guard let n = UInt8(text), String(n) == text else { return nil }
      return .some(n)
    }
  }

  /// Checks that ranges and protocol agree; `what` names the rule in the error.
  func check(_ what: String, sourcePorts: Bool) throws(ControlError) {
    let ported = proto == 6 || proto == 17
    for (name, lo, hi) in [("port", portMin, portMax), ("source port", sourcePortMin, sourcePortMax)] {
      guard lo != nil || hi != nil else { continue }
      if name == "source port" && !sourcePorts { throw .bad("\(what): source port ranges belong to security-list rules") }
      guard ported else { throw .bad("\(what): a \(name) range needs protocol tcp or udp, not \(protocolName)") }
      guard let lo, let hi, (1...65535).contains(lo), (1...65535).contains(hi), lo <= hi else {
        throw .bad("\(what): \(name) range \(lo.map(String.init) ?? "?")-\(hi.map(String.init) ?? "?") is not within 1-65535, low first")
      }
    }
    if icmpType != nil || icmpCode != nil {
      guard proto == 1 else { throw .bad("\(what): ICMP type and code need protocol icmp, not \(protocolName)") }
      guard let t = icmpType, (0...255).contains(t) else { throw .bad("\(what): an ICMP code needs an ICMP type 0-255") }
      if let c = icmpCode, !(0...255).contains(c) { throw .bad("\(what): ICMP code \(c) is not 0-255") }
    }
  }
}

/// A Neutron security-group rule: `direction`, what it matches, and the remote side — a
/// CIDR, or the fixed IPs of the ports in another group of the same tenant (nil both: any).
public struct SecurityGroupRule: Codable, Equatable, Sendable {
  public var id: String
  public var direction: TrafficDirection
  public var match: L4Match
  public var remoteCIDR: IPv4Prefix?
  public var remoteGroup: String?
  public init(id: String, direction: TrafficDirection, match: L4Match = L4Match(), remoteCIDR: IPv4Prefix? = nil, remoteGroup: String? = nil) {
    self.id = id
    self.direction = direction
    self.match = match
    self.remoteCIDR = remoteCIDR
    self.remoteGroup = remoteGroup
  }
}

/// A security group: stateful allow rules; a port in groups gets what any rule of any of
/// its groups allows (and the replies of it), nothing else.
public struct SecurityGroup: Codable, Equatable, Sendable {
  public var id: String
  public var tenant: String
  /// Its name: a tenant's group named "default" is given to its new ports that name none.
  public var name: String
  public var rules: [SecurityGroupRule] = []
  public init(id: String, tenant: String, name: String? = nil) {
    self.id = id
    self.tenant = tenant
    self.name = name ?? id
  }
}

/// An OCI security-list rule: `stateless` or stateful, the remote CIDR (the source of
/// ingress, the destination of egress), and what it matches.
public struct SecurityListRule: Codable, Equatable, Sendable {
  public var id: String
  public var direction: TrafficDirection
  public var stateless: Bool
  public var cidr: IPv4Prefix
  public var match: L4Match
  public init(id: String, direction: TrafficDirection, stateless: Bool, cidr: IPv4Prefix, match: L4Match = L4Match()) {
    self.id = id
    self.direction = direction
    self.stateless = stateless
    self.cidr = cidr
    self.match = match
  }
}

/// A security list: rules that apply to every port of the networks that list it (at most
/// five lists per network).
public struct SecurityList: Codable, Equatable, Sendable {
  public var id: String
  public var tenant: String
  public var rules: [SecurityListRule] = []
  public init(id: String, tenant: String) {
    self.id = id
    self.tenant = tenant
  }
}

extension ControlState {
  public static let maxSecurityListsPerNetwork = 5

  /// The groups a port is in (none without port security: such a port is never filtered).
  public func groups(of p: LogicalPort) -> [SecurityGroup] {
    p.portSecurity ? p.groups.compactMap { securityGroups[$0] } : []
  }

  /// The fixed IPs of every port in group `id`.
  public func members(ofGroup id: String) -> [IPv4Address] {
    ports.values.filter { $0.groups.contains(id) }.flatMap(\.fixedIPs).sorted()
  }

  /// Checks and applies one security change (part of `apply`).
  mutating func applySecurity(_ r: ControlRequest) throws(ControlError) {
    switch r {
    case .securityGroupCreate(let g):
      guard securityGroups[g.id] == nil else { throw ControlError("exists", "security group '\(g.id)' exists") }
      if g.name == "default", let other = securityGroups.values.first(where: { $0.tenant == g.tenant && $0.name == "default" }) {
        throw ControlError("conflict", "tenant '\(g.tenant)' already has a default group ('\(other.id)')")
      }
      securityGroups[g.id] = g
    case .securityGroupDelete(let id):
      guard securityGroups[id] != nil else { throw ControlError("not-found", "no security group '\(id)'") }
      let users = ports.values.filter { $0.groups.contains(id) }.map(\.id).sorted()
      guard users.isEmpty else { throw ControlError("in-use", "security group '\(id)' is used by ports: \(users.joined(separator: ", "))") }
      if let g = securityGroups.values.first(where: { $0.id != id && $0.rules.contains { $0.remoteGroup == id } }) {
        throw ControlError("in-use", "security group '\(id)' is the remote group of a rule of '\(g.id)'")
      }
      securityGroups[id] = nil
    case .securityGroupRuleAdd(let gid, let rule):
      guard var g = securityGroups[gid] else { throw ControlError("not-found", "no security group '\(gid)'") }
      let what = "security group '\(gid)' rule '\(rule.id)'"
      guard !g.rules.contains(where: { $0.id == rule.id }) else { throw ControlError("exists", "\(what) exists") }
      try rule.match.check(what, sourcePorts: false)
      if rule.remoteCIDR != nil && rule.remoteGroup != nil { throw .bad("\(what): give a remote CIDR or a remote group, not both") }
      if let rg = rule.remoteGroup {
        guard let other = securityGroups[rg] else { throw ControlError("not-found", "\(what): no security group '\(rg)'") }
        guard other.tenant == g.tenant else {
          throw ControlError("conflict", "\(what): remote group '\(rg)' belongs to tenant '\(other.tenant)', not '\(g.tenant)'")
        }
      }
      g.rules.append(rule)
      securityGroups[gid] = g
    case .securityGroupRuleDelete(let gid, let rid):
      guard var g = securityGroups[gid] else { throw ControlError("not-found", "no security group '\(gid)'") }
      guard let i = g.rules.firstIndex(where: { $0.id == rid }) else { throw ControlError("not-found", "security group '\(gid)' has no rule '\(rid)'") }
      g.rules.remove(at: i)
      securityGroups[gid] = g
    case .securityListCreate(let l):
      guard securityLists[l.id] == nil else { throw ControlError("exists", "security list '\(l.id)' exists") }
      securityLists[l.id] = l
    case .securityListDelete(let id):
      guard securityLists[id] != nil else { throw ControlError("not-found", "no security list '\(id)'") }
      let users = networks.values.filter { $0.securityLists.contains(id) }.map(\.id).sorted()
      guard users.isEmpty else { throw ControlError("in-use", "security list '\(id)' is used by networks: \(users.joined(separator: ", "))") }
      securityLists[id] = nil
    case .securityListRuleAdd(let lid, let rule):
      guard var l = securityLists[lid] else { throw ControlError("not-found", "no security list '\(lid)'") }
      let what = "security list '\(lid)' rule '\(rule.id)'"
      guard !l.rules.contains(where: { $0.id == rule.id }) else { throw ControlError("exists", "\(what) exists") }
      try rule.match.check(what, sourcePorts: true)
      l.rules.append(rule)
      securityLists[lid] = l
    case .securityListRuleDelete(let lid, let rid):
      guard var l = securityLists[lid] else { throw ControlError("not-found", "no security list '\(lid)'") }
      guard let i = l.rules.firstIndex(where: { $0.id == rid }) else { throw ControlError("not-found", "security list '\(lid)' has no rule '\(rid)'") }
      l.rules.remove(at: i)
      securityLists[lid] = l
    case .networkUpdate(let id, let lists):
      guard var n = networks[id] else { throw ControlError("not-found", "no network '\(id)'") }
      if let lists {
        try checkLists(lists, of: n)
        n.securityLists = lists
      }
      networks[id] = n
    default:
      break
    }
  }

  func checkLists(_ lists: [String], of n: Network) throws(ControlError) {
    guard lists.count <= Self.maxSecurityListsPerNetwork else {
      throw ControlError("conflict", "network '\(n.id)': at most \(Self.maxSecurityListsPerNetwork) security lists, not \(lists.count)")
    }
    guard Set(lists).count == lists.count else { throw .bad("network '\(n.id)': a security list is named twice") }
    for id in lists {
      guard let l = securityLists[id] else { throw ControlError("not-found", "network '\(n.id)': no security list '\(id)'") }
      guard l.tenant == n.tenant else {
        throw ControlError("conflict", "network '\(n.id)': security list '\(id)' belongs to tenant '\(l.tenant)', not '\(n.tenant)'")
      }
    }
  }

  /// A port's groups must exist and belong to its network's tenant; a port without port
  /// security can have none (it is never filtered).
  func checkGroups(_ p: LogicalPort) throws(ControlError) {
    guard let n = networks[p.network] else { return }
    guard Set(p.groups).count == p.groups.count else { throw .bad("port '\(p.id)': a security group is named twice") }
    if !p.portSecurity && !p.groups.isEmpty {
      throw ControlError("conflict", "port '\(p.id)': security groups need port security (a port without it is never filtered)")
    }
    for id in p.groups {
      guard let g = securityGroups[id] else { throw ControlError("not-found", "port '\(p.id)': no security group '\(id)'") }
      let owner = p.tenant ?? n.tenant
      guard g.tenant == owner else {
        throw ControlError("conflict", "port '\(p.id)': security group '\(id)' belongs to tenant '\(g.tenant)', not '\(owner)'")
      }
    }
  }

  /// The default group of a tenant (named "default"), if it has one.
  func defaultGroup(ofTenant t: String) -> String? {
    securityGroups.values.first { $0.tenant == t && $0.name == "default" }?.id
  }
}
