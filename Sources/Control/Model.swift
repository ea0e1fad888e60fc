import Wire

/// A tenant L2 network: an isolated segment, carried between nodes with its VNI.
public struct Network: Codable, Equatable, Sendable {
  public var id: String
  public var tenant: String
  public var vni: UInt32
  /// L3 MTU of the network, or nil for each node's default: its `underlay_mtu` − 50 (VXLAN
  /// over IPv4), so a network fits the overlay of every node it spans.
  public var mtu: Int?
  /// Learn source MACs of frames from local ports without a static entry.
  public var learning: Bool
  /// At most this many learned MACs in the network; further ones are not learned.
  public var learningLimit: Int
  /// A learned MAC not seen for this long is forgotten.
  public var agingSeconds: Int
  /// Security lists (OCI) that apply to every port of the network, at most five.
  public var securityLists: [String] = []
  /// A delegated subnet (seed 004's Azure side): the tenant of a managed service whose ports
  /// may be placed on this network; no other tenant's can.
  public var delegatedTo: String?
  public init(id: String, tenant: String, vni: UInt32, mtu: Int? = nil, learning: Bool = false, learningLimit: Int = 4096,
              agingSeconds: Int = 300, securityLists: [String] = []) {
    self.securityLists = securityLists
    self.id = id
    self.tenant = tenant
    self.vni = vni
    self.mtu = mtu
    self.learning = learning
    self.learningLimit = learningLimit
    self.agingSeconds = agingSeconds
  }
  enum CodingKeys: String, CodingKey { case id, tenant, vni, mtu, learning, learningLimit, agingSeconds, securityLists, delegatedTo }
  /// State files written before security lists existed load with none.
  public init(from d: Decoder) throws {
    let c = try d.container(keyedBy: CodingKeys.self)
    id = try c.decode(String.self, forKey: .id)
    tenant = try c.decode(String.self, forKey: .tenant)
    vni = try c.decode(UInt32.self, forKey: .vni)
    mtu = try c.decodeIfPresent(Int.self, forKey: .mtu)
    learning = try c.decode(Bool.self, forKey: .learning)
    learningLimit = try c.decode(Int.self, forKey: .learningLimit)
    agingSeconds = try c.decode(Int.self, forKey: .agingSeconds)
    securityLists = try c.decodeIfPresent([String].self, forKey: .securityLists) ?? []
    delegatedTo = try c.decodeIfPresent(String.self, forKey: .delegatedTo)
  }
}

/// Where a port's VM is: on this node, attached through a port spec (af-packet:tap0,
/// dpdk:net_af_packet0,iface=tap0, …), or on another node, reached through its tunnel IP.
public enum PortLocation: Codable, Equatable, Sendable, CustomStringConvertible {
  case local(String)
  case remote(IPv4Address)
  public var description: String {
    switch self {
    case .local(let s): "local \(s)"
    case .remote(let ip): "remote \(ip)"
    }
  }
}

/// A VM's NIC on a network (Neutron port).
public struct LogicalPort: Codable, Equatable, Sendable {
  public var id: String
  public var network: String
  public var mac: MACAddress
  public var fixedIPs: [IPv4Address]
  public var location: PortLocation
  /// Anti-spoofing: frames from this port must carry its MAC as source.
  public var portSecurity: Bool
  /// Security groups. In a `port.create` request nil means "not given": the port gets its
  /// tenant's default group if there is one. In the state it is never nil.
  public var securityGroups: [String]?
  /// The port's groups ([] when none).
  public var groups: [String] { securityGroups ?? [] }
  /// The tenant that owns the port when it is not the network's: a managed service's port on
  /// a network delegated to it.
  public var tenant: String?
  /// In the cloud's desired state (etcd, `Cloud`): the node the port is bound to, its
  /// `location` the attachment on that node. nil in a node's own state.
  public var node: String?
  public init(id: String, network: String, mac: MACAddress, fixedIPs: [IPv4Address], location: PortLocation, portSecurity: Bool,
              securityGroups: [String]? = [], tenant: String? = nil, node: String? = nil) {
    self.tenant = tenant
    self.node = node
    self.securityGroups = securityGroups
    self.id = id
    self.network = network
    self.mac = mac
    self.fixedIPs = fixedIPs
    self.location = location
    self.portSecurity = portSecurity
  }
  enum CodingKeys: String, CodingKey { case id, network, mac, fixedIPs, location, portSecurity, securityGroups, tenant, node }
  /// State files written before security groups existed load with none.
  public init(from d: Decoder) throws {
    let c = try d.container(keyedBy: CodingKeys.self)
    id = try c.decode(String.self, forKey: .id)
    network = try c.decode(String.self, forKey: .network)
    mac = try c.decode(MACAddress.self, forKey: .mac)
    fixedIPs = try c.decode([IPv4Address].self, forKey: .fixedIPs)
    location = try c.decode(PortLocation.self, forKey: .location)
    portSecurity = try c.decode(Bool.self, forKey: .portSecurity)
    securityGroups = try c.decodeIfPresent([String].self, forKey: .securityGroups) ?? []
    tenant = try c.decodeIfPresent(String.self, forKey: .tenant)
    node = try c.decodeIfPresent(String.self, forKey: .node)
  }
}

/// A static FDB entry: frames for `mac` on `network` go to `port` (as Neutron's
/// l2population programs remote MACs).
public struct FDBEntry: Codable, Equatable, Sendable, Hashable {
  public var network: String
  public var mac: MACAddress
  public var port: String
  public init(network: String, mac: MACAddress, port: String) {
    self.network = network
    self.mac = mac
    self.port = port
  }
}

/// Everything the control plane has been told. Immutable value; every committed change
/// makes a new one with `generation` one higher. This is what is persisted.
public struct ControlState: Codable, Equatable, Sendable {
  public var generation: UInt64 = 0
  public var networks: [String: Network] = [:]
  public var ports: [String: LogicalPort] = [:]
  public var fdb: [FDBEntry] = []
  public var routers: [String: Router] = [:]
  public var chassis: [Chassis] = []
  /// Floating IPs by address (dotted quad).
  public var floatingIPs: [String: FloatingIP] = [:]
  public var securityGroups: [String: SecurityGroup] = [:]
  public var securityLists: [String: SecurityList] = [:]
  /// Operator flows by id.
  public var flows: [String: OperatorFlow] = [:]
  /// Route tables and local peering gateways by id (`Peering.swift`).
  public var routeTables: [String: RouteTable] = [:]
  public var lpgs: [String: LocalPeeringGateway] = [:]
  /// Dynamic routing gateways and their attachments (VCNs' and RPCs') by id (`DRG.swift`).
  public var drgs: [String: DynamicRoutingGateway] = [:]
  public var drgAttachments: [String: DRGAttachment] = [:]
  public init() {}

  enum CodingKeys: String, CodingKey {
    case generation, networks, ports, fdb, routers, chassis, floatingIPs, securityGroups, securityLists, flows, routeTables, lpgs, drgs, drgAttachments
  }
  /// State files written before routers existed load with none.
  public init(from d: Decoder) throws {
    let c = try d.container(keyedBy: CodingKeys.self)
    generation = try c.decode(UInt64.self, forKey: .generation)
    networks = try c.decode([String: Network].self, forKey: .networks)
    ports = try c.decode([String: LogicalPort].self, forKey: .ports)
    fdb = try c.decode([FDBEntry].self, forKey: .fdb)
    routers = try c.decodeIfPresent([String: Router].self, forKey: .routers) ?? [:]
    chassis = try c.decodeIfPresent([Chassis].self, forKey: .chassis) ?? []
    floatingIPs = try c.decodeIfPresent([String: FloatingIP].self, forKey: .floatingIPs) ?? [:]
    securityGroups = try c.decodeIfPresent([String: SecurityGroup].self, forKey: .securityGroups) ?? [:]
    securityLists = try c.decodeIfPresent([String: SecurityList].self, forKey: .securityLists) ?? [:]
    flows = try c.decodeIfPresent([String: OperatorFlow].self, forKey: .flows) ?? [:]
    routeTables = try c.decodeIfPresent([String: RouteTable].self, forKey: .routeTables) ?? [:]
    lpgs = try c.decodeIfPresent([String: LocalPeeringGateway].self, forKey: .lpgs) ?? [:]
    drgs = try c.decodeIfPresent([String: DynamicRoutingGateway].self, forKey: .drgs) ?? [:]
    drgAttachments = try c.decodeIfPresent([String: DRGAttachment].self, forKey: .drgAttachments) ?? [:]
  }

  /// Port specs of every local port, by port id.
  public var localAttachments: [String: String] {
    var out: [String: String] = [:]
    for (id, p) in ports { if case .local(let spec) = p.location { out[id] = spec } }
    return out
  }
}
