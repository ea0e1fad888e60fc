import Wire

/// One rule as `sg show` and `seclist list` print it, with its hits (connections it
/// admitted, summed over workers).
public struct SecurityRuleRow: Codable, Sendable, Equatable {
  public var id: String
  public var direction: String
  /// "stateful" or "stateless" (security-group rules are stateful).
  public var kind: String
  public var proto: String
  /// "22", "1000-2000", "any"; ICMP: "type 8", "type 3 code 4".
  public var ports: String
  public var sourcePorts: String
  /// CIDR, "group G", or "any".
  public var remote: String
  public var hits: UInt64
  enum CodingKeys: String, CodingKey {
    case id, direction, kind, ports, remote, hits
    case proto = "protocol", sourcePorts = "source_ports"
  }
  public init(id: String, direction: String, kind: String, proto: String, ports: String, sourcePorts: String, remote: String, hits: UInt64) {
    self.id = id
    self.direction = direction
    self.kind = kind
    self.proto = proto
    self.ports = ports
    self.sourcePorts = sourcePorts
    self.remote = remote
    self.hits = hits
  }
}

public struct SecurityGroupRow: Codable, Sendable, Equatable {
  public var id: String
  public var tenant: String
  public var name: String
  public var ports: [String]
  public var rules: [SecurityRuleRow]
  public init(id: String, tenant: String, name: String, ports: [String], rules: [SecurityRuleRow]) {
    self.id = id
    self.tenant = tenant
    self.name = name
    self.ports = ports
    self.rules = rules
  }
}

public struct SecurityListRow: Codable, Sendable, Equatable {
  public var id: String
  public var tenant: String
  public var networks: [String]
  public var rules: [SecurityRuleRow]
  public init(id: String, tenant: String, networks: [String], rules: [SecurityRuleRow]) {
    self.id = id
    self.tenant = tenant
    self.networks = networks
    self.rules = rules
  }
}

/// Tracked connections (`show.conntrack`), or how many were flushed (`conntrack.flush`).
public struct ConntrackReply: Codable, Sendable, Equatable {
  public struct Connection: Codable, Sendable, Equatable {
    public var port: String
    public var proto: String
    /// VM side, address:port.
    public var vm: String
    public var remote: String
    /// "in" (the remote side opened it) or "out" (the VM did).
    public var opened: String
    /// TCP state ("ESTABLISHED"…), "replied" or "unreplied" for the others.
    public var state: String
    public var idleSeconds: Int
    public var expiresInSeconds: Int
    enum CodingKeys: String, CodingKey {
      case port, proto, vm, remote, opened, state
      case idleSeconds = "idle_s", expiresInSeconds = "expires_in_s"
    }
    public init(port: String, proto: String, vm: String, remote: String, opened: String, state: String, idleSeconds: Int, expiresInSeconds: Int) {
      self.port = port
      self.proto = proto
      self.vm = vm
      self.remote = remote
      self.opened = opened
      self.state = state
      self.idleSeconds = idleSeconds
      self.expiresInSeconds = expiresInSeconds
    }
  }
  public var capacity: Int
  public var live: UInt64
  public var created: UInt64
  public var expired: UInt64
  public var revoked: UInt64
  public var tableFull: UInt64
  /// Matching connections (`show.conntrack`), up to the limit.
  public var connections: [Connection]
  /// How many matched (all of them, even beyond the limit); for a flush, how many were removed.
  public var matched: Int
  enum CodingKeys: String, CodingKey {
    case capacity, live, created, expired, revoked, connections, matched
    case tableFull = "table_full"
  }
  public init(capacity: Int, live: UInt64, created: UInt64, expired: UInt64, revoked: UInt64, tableFull: UInt64, connections: [Connection],
              matched: Int) {
    self.capacity = capacity
    self.live = live
    self.created = created
    self.expired = expired
    self.revoked = revoked
    self.tableFull = tableFull
    self.connections = connections
    self.matched = matched
  }
}

extension L4Match {
  /// "any", "22", "1000-2000", or for ICMP "type 8" / "type 3 code 4".
  public var portsText: String {
    if proto == 1, let t = icmpType { return icmpCode.map { "type \(t) code \($0)" } ?? "type \(t)" }
    guard let lo = portMin, let hi = portMax else { return "any" }
    return lo == hi ? "\(lo)" : "\(lo)-\(hi)"
  }
  public var sourcePortsText: String {
    guard let lo = sourcePortMin, let hi = sourcePortMax else { return "any" }
    return lo == hi ? "\(lo)" : "\(lo)-\(hi)"
  }
}
