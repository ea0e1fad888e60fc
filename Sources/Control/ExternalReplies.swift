import Wire

// Replies about the external network: floating IPs, gateways, the SNAT table.

public struct FloatingIPRow: Codable, Sendable, Equatable {
  public var ip: String
  /// The associated port, or "-".
  public var port: String
  public var fixedIP: String
  public var router: String?
  public var location: String?
  /// This node answers ARP for it and translates it (its port is local).
  public var hostedHere: Bool
  enum CodingKeys: String, CodingKey {
    case ip, port, router, location
    case fixedIP = "fixed_ip", hostedHere = "hosted_here"
  }
  public init(ip: String, port: String, fixedIP: String, router: String? = nil, location: String? = nil, hostedHere: Bool) {
    self.ip = ip
    self.port = port
    self.fixedIP = fixedIP
    self.router = router
    self.location = location
    self.hostedHere = hostedHere
  }
}

/// Live SNAT sessions of one external IP, by protocol, and the ports (ICMP identifiers) they use.
public struct SessionCounts: Codable, Sendable, Equatable {
  public var sessions: Int
  public var tcpSessions: Int
  public var udpSessions: Int
  public var icmpSessions: Int
  public var tcpPortsInUse: Int
  public var udpPortsInUse: Int
  public var icmpIDsInUse: Int
  enum CodingKeys: String, CodingKey {
    case sessions
    case tcpSessions = "tcp_sessions", udpSessions = "udp_sessions", icmpSessions = "icmp_sessions"
    case tcpPortsInUse = "tcp_ports_in_use", udpPortsInUse = "udp_ports_in_use", icmpIDsInUse = "icmp_ids_in_use"
  }
  public init(sessions: Int = 0, tcpSessions: Int = 0, udpSessions: Int = 0, icmpSessions: Int = 0, tcpPortsInUse: Int = 0,
              udpPortsInUse: Int = 0, icmpIDsInUse: Int = 0) {
    self.sessions = sessions
    self.tcpSessions = tcpSessions
    self.udpSessions = udpSessions
    self.icmpSessions = icmpSessions
    self.tcpPortsInUse = tcpPortsInUse
    self.udpPortsInUse = udpPortsInUse
    self.icmpIDsInUse = icmpIDsInUse
  }
}

public struct GatewayRow: Codable, Sendable, Equatable {
  public var router: String
  /// address/length.
  public var externalIP: String
  public var upstream: String
  /// The upstream's MAC as resolved here, "unresolved", or "not needed here".
  public var upstreamMAC: String
  public var mac: String
  public var snatNode: String
  public var snatHere: Bool
  public var portRange: String
  /// On the SNAT node only.
  public var counts: SessionCounts?
  enum CodingKeys: String, CodingKey {
    case router, upstream, mac
    case externalIP = "external_ip", upstreamMAC = "upstream_mac", snatNode = "snat_node", snatHere = "snat_here", portRange = "port_range"
  }
  public init(router: String, externalIP: String, upstream: String, upstreamMAC: String, mac: String, snatNode: String, snatHere: Bool,
              portRange: String, counts: SessionCounts? = nil) {
    self.router = router
    self.externalIP = externalIP
    self.upstream = upstream
    self.upstreamMAC = upstreamMAC
    self.mac = mac
    self.snatNode = snatNode
    self.snatHere = snatHere
    self.portRange = portRange
    self.counts = counts
  }
  // The counts sit beside the gateway's fields (flat, as scripts read them).
  public init(from d: Decoder) throws {
    let c = try d.container(keyedBy: CodingKeys.self)
    router = try c.decode(String.self, forKey: .router)
    externalIP = try c.decode(String.self, forKey: .externalIP)
    upstream = try c.decode(String.self, forKey: .upstream)
    upstreamMAC = try c.decode(String.self, forKey: .upstreamMAC)
    mac = try c.decode(String.self, forKey: .mac)
    snatNode = try c.decode(String.self, forKey: .snatNode)
    snatHere = try c.decode(Bool.self, forKey: .snatHere)
    portRange = try c.decode(String.self, forKey: .portRange)
    counts = snatHere ? try SessionCounts(from: d) : nil
  }
  public func encode(to e: Encoder) throws {
    var c = e.container(keyedBy: CodingKeys.self)
    try c.encode(router, forKey: .router)
    try c.encode(externalIP, forKey: .externalIP)
    try c.encode(upstream, forKey: .upstream)
    try c.encode(upstreamMAC, forKey: .upstreamMAC)
    try c.encode(mac, forKey: .mac)
    try c.encode(snatNode, forKey: .snatNode)
    try c.encode(snatHere, forKey: .snatHere)
    try c.encode(portRange, forKey: .portRange)
    try counts?.encode(to: e)
  }
}

public struct NATReply: Codable, Sendable, Equatable {
  public struct Timeouts: Codable, Sendable, Equatable {
    public var tcpEstablished: Int
    public var tcpTransitory: Int
    public var udp: Int
    public var icmp: Int
    enum CodingKeys: String, CodingKey {
      case tcpEstablished = "tcp_established_s", tcpTransitory = "tcp_transitory_s", udp = "udp_s", icmp = "icmp_s"
    }
    public init(tcpEstablished: Int, tcpTransitory: Int, udp: Int, icmp: Int) {
      self.tcpEstablished = tcpEstablished
      self.tcpTransitory = tcpTransitory
      self.udp = udp
      self.icmp = icmp
    }
  }
  public struct ExternalIP: Codable, Sendable, Equatable {
    public var externalIP: String
    public var counts: SessionCounts
    enum CodingKeys: String, CodingKey { case externalIP = "external_ip" }
    public init(externalIP: String, counts: SessionCounts) {
      self.externalIP = externalIP
      self.counts = counts
    }
    public init(from d: Decoder) throws {
      externalIP = try d.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .externalIP)
      counts = try SessionCounts(from: d)
    }
    public func encode(to e: Encoder) throws {
      var c = e.container(keyedBy: CodingKeys.self)
      try c.encode(externalIP, forKey: .externalIP)
      try counts.encode(to: e)
    }
  }
  /// One worker's share: each worker owns the sessions of its slice of every router's port
  /// range; `handedOff` counts the packets it received for another worker's sessions and
  /// passed on (nat-handoff).
  public struct Worker: Codable, Sendable, Equatable {
    public var worker: Int
    public var capacity: Int
    public var live: UInt64
    public var created: UInt64
    public var portsExhausted: UInt64
    public var handedOff: UInt64
    enum CodingKeys: String, CodingKey {
      case worker, capacity, live, created, portsExhausted = "ports_exhausted", handedOff = "handed_off"
    }
    public init(worker: Int, capacity: Int, live: UInt64, created: UInt64, portsExhausted: UInt64, handedOff: UInt64) {
      self.worker = worker
      self.capacity = capacity
      self.live = live
      self.created = created
      self.portsExhausted = portsExhausted
      self.handedOff = handedOff
    }
  }
  public var capacity: Int
  public var live: UInt64
  public var created: UInt64
  public var expired: UInt64
  public var portsExhausted: UInt64
  public var tableFull: UInt64
  public var timeouts: Timeouts
  public var externalIPs: [ExternalIP]
  public var workers: [Worker]
  enum CodingKeys: String, CodingKey {
    case capacity, live, created, expired, timeouts, workers
    case portsExhausted = "ports_exhausted", tableFull = "table_full", externalIPs = "external_ips"
  }
  public init(capacity: Int, live: UInt64, created: UInt64, expired: UInt64, portsExhausted: UInt64, tableFull: UInt64, timeouts: Timeouts,
              externalIPs: [ExternalIP], workers: [Worker] = []) {
    self.workers = workers
    self.capacity = capacity
    self.live = live
    self.created = created
    self.expired = expired
    self.portsExhausted = portsExhausted
    self.tableFull = tableFull
    self.timeouts = timeouts
    self.externalIPs = externalIPs
  }
}

public struct SessionRow: Codable, Sendable, Equatable {
  public var router: String
  /// tcp, udp or icmp.
  public var proto: String
  /// address:port (the ICMP identifier for echo).
  public var inside: String
  public var external: String
  public var remote: String
  /// The TCP state, "-" for UDP and ICMP.
  public var state: String
  public var ageSeconds: Int
  public var idleSeconds: Int
  public var expiresInSeconds: Int
  public var packetsOut: UInt64
  public var packetsIn: UInt64
  enum CodingKeys: String, CodingKey {
    case router, proto, inside, external, remote, state
    case ageSeconds = "age_s", idleSeconds = "idle_s", expiresInSeconds = "expires_in_s", packetsOut = "packets_out", packetsIn = "packets_in"
  }
  public init(router: String, proto: String, inside: String, external: String, remote: String, state: String, ageSeconds: Int,
              idleSeconds: Int, expiresInSeconds: Int, packetsOut: UInt64, packetsIn: UInt64) {
    self.router = router
    self.proto = proto
    self.inside = inside
    self.external = external
    self.remote = remote
    self.state = state
    self.ageSeconds = ageSeconds
    self.idleSeconds = idleSeconds
    self.expiresInSeconds = expiresInSeconds
    self.packetsOut = packetsOut
    self.packetsIn = packetsIn
  }
}

/// What gannetd answers to a show request: one of the replies above, encoded as itself.
public enum ShowReply: Encodable, Sendable {
  case state(ControlState)
  case node(NodeReply)
  case networks([NetworkRow])
  case ports([PortRow])
  case fdb([FDBRow])
  case tunnels([TunnelRow])
  case routers([RouterRow])
  case routes([RouteRow])
  case neighbors([NeighborRow])
  case counters(CountersReply)
  case runtime(RuntimeReply)
  case drops([DropRow])
  case fips([FloatingIPRow])
  case gateways([GatewayRow])
  case nat(NATReply)
  case sessions([SessionRow])
  case securityGroups([SecurityGroupRow])
  case securityLists([SecurityListRow])
  case conntrack(ConntrackReply)
  case flows([FlowRow])
  case routeTables([RouteTableRow])
  case lpgs([LPGRow])
  case drgs([DRGAttachmentRow])

  public func encode(to e: Encoder) throws {
    switch self {
    case .state(let v): try v.encode(to: e)
    case .node(let v): try v.encode(to: e)
    case .networks(let v): try v.encode(to: e)
    case .ports(let v): try v.encode(to: e)
    case .fdb(let v): try v.encode(to: e)
    case .tunnels(let v): try v.encode(to: e)
    case .routers(let v): try v.encode(to: e)
    case .routes(let v): try v.encode(to: e)
    case .neighbors(let v): try v.encode(to: e)
    case .counters(let v): try v.encode(to: e)
    case .runtime(let v): try v.encode(to: e)
    case .flows(let v): try v.encode(to: e)
    case .drops(let v): try v.encode(to: e)
    case .fips(let v): try v.encode(to: e)
    case .gateways(let v): try v.encode(to: e)
    case .nat(let v): try v.encode(to: e)
    case .sessions(let v): try v.encode(to: e)
    case .securityGroups(let v): try v.encode(to: e)
    case .securityLists(let v): try v.encode(to: e)
    case .conntrack(let v): try v.encode(to: e)
    case .routeTables(let v): try v.encode(to: e)
    case .lpgs(let v): try v.encode(to: e)
    case .drgs(let v): try v.encode(to: e)
    }
  }
}
