import Control
import Wire

/// What the compiler needs to know about the node it compiles for, besides the control
/// state: its identity, which interfaces it has, and what it learned at run time (resolved
/// neighbours, learned MACs). Plain values gathered by the daemon's control thread.
public struct NodeFacts: Sendable {
  /// This node's VTEP as the compiler sees it.
  public struct Underlay: Sendable, Equatable {
    public var mac: MACAddress
    public var localIP: IPv4Address
    public var prefixLength: Int
    /// Where tunnel endpoints off the underlay subnet are reached.
    public var gateway: IPv4Address?
    public init(mac: MACAddress, localIP: IPv4Address, prefixLength: Int, gateway: IPv4Address? = nil) {
      self.mac = mac
      self.localIP = localIP
      self.prefixLength = prefixLength
      self.gateway = gateway
    }
    /// Is `ip` on the underlay subnet?
    public func onLink(_ ip: IPv4Address) -> Bool { IPv4Prefix(localIP, prefixLength).contains(ip) }
    /// Where frames for the VTEP `remote` go on the underlay: itself when on the subnet,
    /// else the gateway.
    public func nextHop(_ remote: IPv4Address) -> IPv4Address { onLink(remote) ? remote : (gateway ?? remote) }
  }
  /// The node's port on the external network.
  public struct Uplink: Sendable, Equatable {
    public var mac: MACAddress
    /// The external network's MTU.
    public var mtu: Int
    public init(mac: MACAddress, mtu: Int = 1500) {
      self.mac = mac
      self.mtu = mtu
    }
  }
  /// A MAC learned from traffic on a local port (runtime state, not persisted).
  public struct LearnedMAC: Sendable, Equatable {
    public var network: String
    public var mac: MACAddress
    public var port: String
    /// Not seen for half the aging time: the next frame from it announces it again.
    public var stale: Bool
    public init(network: String, mac: MACAddress, port: String, stale: Bool = false) {
      self.network = network
      self.mac = mac
      self.port = port
      self.stale = stale
    }
  }
  public enum Role: String, Sendable { case compute, network }

  public var role: Role
  public var tunnelIP: IPv4Address
  public var dvrHostMAC: MACAddress
  public var underlayMTU: Int
  public var workers: Int
  public var underlay: Underlay?
  public var uplink: Uplink?
  /// Local port specs whose interface is open (a port whose interface is not is configured
  /// but down: nothing is forwarded to it).
  public var openAttachments: Set<String>
  /// MACs resolved by ARP on the underlay, by IP (tunnels' next hops).
  public var underlayNeighbors: [IPv4Address: MACAddress]
  /// MACs resolved by ARP on the external network (routers' upstream gateways).
  public var upstreamNeighbors: [IPv4Address: MACAddress]
  public var learned: [LearnedMAC]
  /// At most this many interfaces (the workers' port limit).
  public var maxInterfaces: Int

  public init(role: Role = .compute, tunnelIP: IPv4Address, dvrHostMAC: MACAddress, underlayMTU: Int = 1500, workers: Int = 1,
              underlay: Underlay? = nil, uplink: Uplink? = nil, openAttachments: Set<String> = [],
              underlayNeighbors: [IPv4Address: MACAddress] = [:], upstreamNeighbors: [IPv4Address: MACAddress] = [:],
              learned: [LearnedMAC] = [], maxInterfaces: Int = 1024) {
    self.role = role
    self.tunnelIP = tunnelIP
    self.dvrHostMAC = dvrHostMAC
    self.underlayMTU = underlayMTU
    self.workers = workers
    self.underlay = underlay
    self.uplink = uplink
    self.openAttachments = openAttachments
    self.underlayNeighbors = underlayNeighbors
    self.upstreamNeighbors = upstreamNeighbors
    self.learned = learned
    self.maxInterfaces = maxInterfaces
  }
}

/// Derived views of a state on one node: what the node hosts, serves and must resolve.
/// Pure; used by the compiler and by the daemon (ARP, gratuitous ARP, show).
extension NodeFacts {
  /// A network's MTU on this node: its own, else `underlay_mtu` − 50 (VXLAN over IPv4).
  public func mtu(of n: Network) -> Int { n.mtu ?? underlayMTU - VXLANHeader.overhead }

  /// Does this node translate `g`'s router (role network, named as its SNAT node)?
  public func isSNATNode(_ g: ExternalGateway) -> Bool { role == .network && g.snatNode == tunnelIP }

  /// Remote VTEPs this node needs a tunnel to: every remote port's node, the SNAT node of
  /// every router with an external gateway, every DRG's gateway node (unless it is this
  /// node), and on a DRG's gateway node the peer gateways of its connected RPCs.
  public func tunnelRemotes(_ s: ControlState) -> Set<IPv4Address> {
    var remotes = Set<IPv4Address>()
    for p in s.ports.values { if case .remote(let ip) = p.location { remotes.insert(ip) } }
    for r in s.routers.values { if let g = r.gateway, g.snatNode != tunnelIP { remotes.insert(g.snatNode) } }
    // DRGs: their gateway nodes; on a gateway node, the peer regions' gateways of its RPCs.
    for d in s.drgs.values where d.gatewayNode != tunnelIP { remotes.insert(d.gatewayNode) }
    for att in s.drgAttachments.values {
      if let p = att.peer, s.drgs[att.drg]?.gatewayNode == tunnelIP { remotes.insert(p.gateway) }
    }
    return remotes
  }

  /// The external addresses this node serves and the MAC it answers with: floating IPs of
  /// local ports (the uplink MAC) and, on a SNAT node, routers' external IPs (their MAC).
  public func servedAddresses(_ s: ControlState) -> [IPv4Address: MACAddress] {
    guard let up = uplink else { return [:] }
    var out: [IPv4Address: MACAddress] = [:]
    for r in s.routers.values { if let g = r.gateway, isSNATNode(g), !r.interfaces.isEmpty { out[g.externalIP] = g.mac } }
    for f in s.floatingIPs.values {
      guard let pid = f.port, let p = s.ports[pid], case .local = p.location, s.router(ofPort: pid)?.gateway != nil else { continue }
      out[f.address] = up.mac
    }
    return out
  }

  /// Upstream gateways this node sends to, each with the address to ask from.
  public func upstreamTargets(_ s: ControlState) -> [IPv4Address: IPv4Address] {
    var out: [IPv4Address: IPv4Address] = [:]
    let served = servedAddresses(s)
    for r in s.routers.values {
      guard let g = r.gateway else { continue }
      if served[g.externalIP] != nil { out[g.upstream] = g.externalIP; continue }
      let mine = s.floatingIPs.values.filter { $0.port.map { s.router(ofPort: $0)?.id == r.id } ?? false && served[$0.address] != nil }
      if let f = mine.map(\.address).min(), out[g.upstream] == nil { out[g.upstream] = f }
    }
    return out
  }
}
