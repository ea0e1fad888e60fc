import Foundation
import Wire

// The control protocol's replies as types, shared by gannetd (which encodes them) and
// gannetctl (which decodes and renders them). The JSON on the wire is the documented one:
// every key below is spelled as operators and scripts already read it.
//
//     ← {"version": 1, "ok": true, "result": {...}}
//     ← {"version": 1, "ok": false, "error": {"code": "conflict", "message": "…"}}

/// A reply envelope. `Result` is the type of `result` for the request that was sent.
public struct ControlReply<Result> {
  public struct Failure: Codable, Sendable, Equatable {
    public var code: String
    public var message: String
  }
  public var version = ControlProtocol.version
  public var ok: Bool
  public var result: Result?
  public var error: Failure?
  public init(result: Result) {
    ok = true
    self.result = result
  }
  public init(error: ControlError) {
    ok = false
    self.error = Failure(code: error.code, message: error.message)
  }
}
extension ControlReply: Encodable where Result: Encodable {}
extension ControlReply: Decodable where Result: Decodable {}

/// The reply to a change: the state's generation after it.
public struct ChangeReply: Codable, Sendable, Equatable {
  public var generation: UInt64
  public init(generation: UInt64) { self.generation = generation }
}

public struct NodeReply: Codable, Sendable, Equatable {
  public struct Underlay: Codable, Sendable, Equatable {
    public struct Neighbor: Codable, Sendable, Equatable {
      public var ip: String
      public var mac: String
      public init(ip: String, mac: String) { self.ip = ip; self.mac = mac }
    }
    public var configured: Bool
    public var interface: String?
    public var mac: String?
    public var tunnelIP: String?
    public var gateway: String?
    public var mtu: Int?
    public var arpRequestsSent: Int?
    public var rxPackets: UInt64?
    public var txPackets: UInt64?
    public var neighbors: [Neighbor]?
    enum CodingKeys: String, CodingKey {
      case configured, interface, mac, gateway, mtu, neighbors
      case tunnelIP = "tunnel_ip", arpRequestsSent = "arp_requests_sent", rxPackets = "rx_packets", txPackets = "tx_packets"
    }
    public init(configured: Bool) { self.configured = configured }
  }
  public var name: String
  public var role: String
  public var tunnelIP: String
  public var dvrHostMAC: String
  public var workers: Int
  public var underlayMTU: Int
  public var dpdk: String
  public var generation: UInt64
  public var publishedGeneration: UInt64
  public var controlProtocol: Int
  public var learnedMACs: Int
  public var learningRefusedAtLimit: UInt64
  public var learningEventsLost: UInt64
  public var cores: String
  public var underlay: Underlay
  /// Changes committed and refused since gannetd started, and the time the committed ones
  /// took (validate, compile, persist, publish).
  public var commits: UInt64 = 0
  public var commitsRefused: UInt64 = 0
  public var commitSeconds: Double = 0
  /// The cloud agent's last report with `connected` false once it is stale; nil when no
  /// agent ever reported (a node programmed by hand).
  public var agent: AgentStatus?
  enum CodingKeys: String, CodingKey {
    case name, role, workers, dpdk, generation, cores, underlay, commits, agent
    case tunnelIP = "tunnel_ip", dvrHostMAC = "dvr_host_mac", underlayMTU = "underlay_mtu", publishedGeneration = "published_generation"
    case controlProtocol = "control_protocol", learnedMACs = "learned_macs", learningRefusedAtLimit = "learning_refused_at_limit"
    case learningEventsLost = "learning_events_lost", commitsRefused = "commits_refused", commitSeconds = "commit_seconds"
  }
  public init(name: String, role: String, tunnelIP: String, dvrHostMAC: String, workers: Int, underlayMTU: Int, dpdk: String,
              generation: UInt64, publishedGeneration: UInt64, controlProtocol: Int, learnedMACs: Int, learningRefusedAtLimit: UInt64,
              learningEventsLost: UInt64, cores: String, underlay: Underlay) {
    self.name = name
    self.role = role
    self.tunnelIP = tunnelIP
    self.dvrHostMAC = dvrHostMAC
    self.workers = workers
    self.underlayMTU = underlayMTU
    self.dpdk = dpdk
    self.generation = generation
    self.publishedGeneration = publishedGeneration
    self.controlProtocol = controlProtocol
    self.learnedMACs = learnedMACs
    self.learningRefusedAtLimit = learningRefusedAtLimit
    self.learningEventsLost = learningEventsLost
    self.cores = cores
    self.underlay = underlay
  }
}

public struct NetworkRow: Codable, Sendable, Equatable {
  public var id: String
  public var tenant: String
  public var vni: UInt32
  public var mtu: Int
  /// "network" (its own) or "underlay_mtu" (this node's underlay MTU − 50).
  public var mtuSource: String
  public var learning: Bool
  public var bridgeDomain: Int
  public var ports: Int
  enum CodingKeys: String, CodingKey {
    case id, tenant, vni, mtu, learning, ports
    case mtuSource = "mtu_source", bridgeDomain = "bridge_domain"
  }
  public init(id: String, tenant: String, vni: UInt32, mtu: Int, mtuSource: String, learning: Bool, bridgeDomain: Int, ports: Int) {
    self.id = id
    self.tenant = tenant
    self.vni = vni
    self.mtu = mtu
    self.mtuSource = mtuSource
    self.learning = learning
    self.bridgeDomain = bridgeDomain
    self.ports = ports
  }
}

public struct PortRow: Codable, Sendable, Equatable {
  public var id: String
  public var network: String
  public var mac: String
  public var fixedIPs: [String]
  public var portSecurity: Bool
  public var local: String?
  public var remote: String?
  /// "up", "remote" or "down: why".
  public var status: String
  public var rxPackets: UInt64?
  public var txPackets: UInt64?
  /// A local port filtered by security groups or lists: what its rules admitted and refused.
  public var acl: ACLCounters?
  /// Packets checked against a port's groups and lists, per direction (ingress: to the VM).
  public struct ACLCounters: Codable, Sendable, Equatable {
    public var ingressAllowed: UInt64, ingressDenied: UInt64, egressAllowed: UInt64, egressDenied: UInt64
    enum CodingKeys: String, CodingKey {
      case ingressAllowed = "ingress_allowed", ingressDenied = "ingress_denied", egressAllowed = "egress_allowed", egressDenied = "egress_denied"
    }
    public init(ingressAllowed: UInt64, ingressDenied: UInt64, egressAllowed: UInt64, egressDenied: UInt64) {
      self.ingressAllowed = ingressAllowed
      self.ingressDenied = ingressDenied
      self.egressAllowed = egressAllowed
      self.egressDenied = egressDenied
    }
  }
  enum CodingKeys: String, CodingKey {
    case id, network, mac, local, remote, status, acl
    case fixedIPs = "fixed_ips", portSecurity = "port_security", rxPackets = "rx_packets", txPackets = "tx_packets"
  }
  public init(id: String, network: String, mac: String, fixedIPs: [String], portSecurity: Bool, local: String? = nil, remote: String? = nil,
              status: String, rxPackets: UInt64? = nil, txPackets: UInt64? = nil) {
    self.id = id
    self.network = network
    self.mac = mac
    self.fixedIPs = fixedIPs
    self.portSecurity = portSecurity
    self.local = local
    self.remote = remote
    self.status = status
    self.rxPackets = rxPackets
    self.txPackets = txPackets
  }
}

public struct FDBRow: Codable, Sendable, Equatable {
  public var network: String
  public var mac: String
  public var port: String
  /// "port", "static", "learned" or "learned (stale)".
  public var kind: String
  public var location: String
  public init(network: String, mac: String, port: String, kind: String, location: String) {
    self.network = network
    self.mac = mac
    self.port = port
    self.kind = kind
    self.location = location
  }
}

public struct TunnelRow: Codable, Sendable, Equatable {
  public var remote: String
  public var index: Int
  public var nextHop: String
  public var nextHopMAC: String?
  /// "resolved" or "unresolved".
  public var state: String
  public var networks: [String]
  public var vnis: [UInt32]
  public var snatFor: [String]
  public var remotePorts: Int
  public var rxPackets: UInt64
  public var rxBytes: UInt64
  public var txPackets: UInt64
  public var txBytes: UInt64
  enum CodingKeys: String, CodingKey {
    case remote, index, state, networks, vnis
    case nextHop = "next_hop", nextHopMAC = "next_hop_mac", snatFor = "snat_for", remotePorts = "remote_ports"
    case rxPackets = "rx_packets", rxBytes = "rx_bytes", txPackets = "tx_packets", txBytes = "tx_bytes"
  }
  public init(remote: String, index: Int, nextHop: String, nextHopMAC: String?, state: String, networks: [String], vnis: [UInt32],
              snatFor: [String], remotePorts: Int, rxPackets: UInt64, rxBytes: UInt64, txPackets: UInt64, txBytes: UInt64) {
    self.remote = remote
    self.index = index
    self.nextHop = nextHop
    self.nextHopMAC = nextHopMAC
    self.state = state
    self.networks = networks
    self.vnis = vnis
    self.snatFor = snatFor
    self.remotePorts = remotePorts
    self.rxPackets = rxPackets
    self.rxBytes = rxBytes
    self.txPackets = txPackets
    self.txBytes = txBytes
  }
}

public struct RouterRow: Codable, Sendable, Equatable {
  public var id: String
  public var tenant: String
  public var vrf: Int
  /// "network address/length mac" per interface.
  public var interfaces: [String]
  public var routes: Int
  public init(id: String, tenant: String, vrf: Int, interfaces: [String], routes: Int) {
    self.id = id
    self.tenant = tenant
    self.vrf = vrf
    self.interfaces = interfaces
    self.routes = routes
  }
}

public struct RouteRow: Codable, Sendable, Equatable {
  public var router: String
  public var prefix: String
  /// "connected" or "static".
  public var kind: String
  public var via: String
  public var network: String
  public var gateway: String?
  public init(router: String, prefix: String, kind: String, via: String, network: String, gateway: String? = nil) {
    self.router = router
    self.prefix = prefix
    self.kind = kind
    self.via = via
    self.network = network
    self.gateway = gateway
  }
}

public struct NeighborRow: Codable, Sendable, Equatable {
  public var router: String
  public var network: String
  public var ip: String
  public var mac: String
  public var port: String
  public var location: String
  public init(router: String, network: String, ip: String, mac: String, port: String, location: String) {
    self.router = router
    self.network = network
    self.ip = ip
    self.mac = mac
    self.port = port
    self.location = location
  }
}

public struct CountersReply: Codable, Sendable, Equatable {
  public struct Port: Codable, Sendable, Equatable {
    public var port: String
    /// The backend: af-packet, dpdk, …
    public var interface: String
    public var rxPackets: UInt64
    public var rxBytes: UInt64
    public var txPackets: UInt64
    public var txBytes: UInt64
    /// TSO/GSO super-frames received and segmented in software (AF_PACKET ports).
    public var rxSuperFrames: UInt64
    /// Runs of those segments sent as one super-frame again (AF_PACKET ports).
    public var txSuperFrames: UInt64
    /// Segments handed on from received super-frames (included in `rxPackets`).
    public var rxSegments: UInt64
    enum CodingKeys: String, CodingKey {
      case port, interface
      case rxPackets = "rx_packets", rxBytes = "rx_bytes", txPackets = "tx_packets", txBytes = "tx_bytes"
      case rxSuperFrames = "rx_super_frames", txSuperFrames = "tx_super_frames", rxSegments = "rx_segments"
    }
    public init(port: String, interface: String, rxPackets: UInt64, rxBytes: UInt64, txPackets: UInt64, txBytes: UInt64,
                rxSuperFrames: UInt64 = 0, txSuperFrames: UInt64 = 0, rxSegments: UInt64 = 0) {
      self.port = port
      self.interface = interface
      self.rxPackets = rxPackets
      self.rxBytes = rxBytes
      self.txPackets = txPackets
      self.txBytes = txBytes
      self.rxSuperFrames = rxSuperFrames
      self.txSuperFrames = txSuperFrames
      self.rxSegments = rxSegments
    }
  }
  public struct Node: Codable, Sendable, Equatable {
    public var node: String
    public var vectors: UInt64
    public var packets: UInt64
    public var cyclesPerPacket: Double
    enum CodingKeys: String, CodingKey {
      case node, vectors, packets
      case cyclesPerPacket = "cycles_per_packet"
    }
    public init(node: String, vectors: UInt64, packets: UInt64, cyclesPerPacket: Double) {
      self.node = node
      self.vectors = vectors
      self.packets = packets
      self.cyclesPerPacket = cyclesPerPacket
    }
  }
  public var ports: [Port]
  public var nodes: [Node]
  public init(ports: [Port], nodes: [Node]) {
    self.ports = ports
    self.nodes = nodes
  }
}

/// `show runtime` (as `vppctl show runtime`): per worker, how busy it is and what each
/// node cost it since the worker started.
public struct RuntimeReply: Codable, Sendable, Equatable {
  public struct Worker: Codable, Sendable, Equatable {
    public var worker: Int
    /// The CPU it is pinned to (`cores`), if any.
    public var core: Int?
    /// Poll rounds (one pass over its ports and handoff rings), and those that found packets.
    public var rounds: UInt64
    public var busyRounds: UInt64
    /// Share of the time since the worker started spent in rounds that found no packet (or
    /// sleeping while idle): 0 for a saturated worker, near 1 for an idle one.
    public var idleShare: Double
    public var nodes: [CountersReply.Node]
    enum CodingKeys: String, CodingKey {
      case worker, core, rounds, nodes
      case busyRounds = "busy_rounds", idleShare = "idle_share"
    }
    public init(worker: Int, core: Int?, rounds: UInt64, busyRounds: UInt64, idleShare: Double, nodes: [CountersReply.Node]) {
      self.worker = worker
      self.core = core
      self.rounds = rounds
      self.busyRounds = busyRounds
      self.idleShare = idleShare
      self.nodes = nodes
    }
  }
  public var workers: [Worker]
  public init(workers: [Worker]) { self.workers = workers }
}

public struct DropRow: Codable, Sendable, Equatable {
  /// The graph node ("l2-forward") or the port ("port a1", "underlay", "uplink").
  public var location: String
  public var reason: String
  public var code: Int
  public var count: UInt64
  public var description: String
  enum CodingKeys: String, CodingKey {
    case reason, code, count, description
    case location = "where"
  }
  public init(location: String, reason: String, code: Int, count: UInt64, description: String) {
    self.location = location
    self.reason = reason
    self.code = code
    self.count = count
    self.description = description
  }
}
