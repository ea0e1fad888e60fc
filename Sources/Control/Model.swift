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
  public init(id: String, tenant: String, vni: UInt32, mtu: Int? = nil, learning: Bool = false, learningLimit: Int = 4096,
              agingSeconds: Int = 300) {
    self.id = id
    self.tenant = tenant
    self.vni = vni
    self.mtu = mtu
    self.learning = learning
    self.learningLimit = learningLimit
    self.agingSeconds = agingSeconds
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
  public init(id: String, network: String, mac: MACAddress, fixedIPs: [IPv4Address], location: PortLocation, portSecurity: Bool) {
    self.id = id
    self.network = network
    self.mac = mac
    self.fixedIPs = fixedIPs
    self.location = location
    self.portSecurity = portSecurity
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
  public init() {}

  enum CodingKeys: String, CodingKey { case generation, networks, ports, fdb, routers, chassis, floatingIPs }
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
  }

  /// Port specs of every local port, by port id.
  public var localAttachments: [String: String] {
    var out: [String: String] = [:]
    for (id, p) in ports { if case .local(let spec) = p.location { out[id] = spec } }
    return out
  }
}
