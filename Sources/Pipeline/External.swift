import Buffers
import CDPDKShim
import Tables
import Wire

/// What the control plane says about the external (provider) network, in plain values:
/// the uplink port, the routers' external gateways, and the floating IPs this node hosts.
/// `ExternalTables` turns it into the flat tables workers read.
public struct ExternalConfig: Sendable {
  /// A router's external gateway, as this node uses it.
  public struct Gateway: Sendable {
    public var vrf: Int
    /// The router's external IP (the SNAT address) and its port (qg-) MAC: the source of
    /// SNAT traffic on the external network, and the router's SNAT port MAC on its subnets.
    public var externalIP: IPv4Address
    public var mac: MACAddress
    /// The upstream gateway's MAC on the external network, once ARP resolved it here.
    public var upstreamMAC: MACAddress?
    public var portLow: UInt16
    public var portHigh: UInt16
    /// This node translates the router's traffic (role network, the router's SNAT node).
    public var snatHere: Bool
    /// Otherwise: the tunnel to the SNAT node, or nil (unreachable).
    public var snatTunnel: Int?
    /// Any router interface of the VRF: where translated inbound packets enter ip4-lookup.
    public var routerInterface: Int
    public init(vrf: Int, externalIP: IPv4Address, mac: MACAddress, upstreamMAC: MACAddress?, portLow: UInt16, portHigh: UInt16,
                snatHere: Bool, snatTunnel: Int?, routerInterface: Int) {
      self.vrf = vrf
      self.externalIP = externalIP
      self.mac = mac
      self.upstreamMAC = upstreamMAC
      self.portLow = portLow
      self.portHigh = portHigh
      self.snatHere = snatHere
      self.snatTunnel = snatTunnel
      self.routerInterface = routerInterface
    }
  }
  /// A floating IP hosted on this node (its port is local).
  public struct FloatingIP: Sendable {
    public var address: IPv4Address
    public var vrf: Int
    public var inside: IPv4Address
    public var upstreamMAC: MACAddress?
    public var routerInterface: Int
    public init(address: IPv4Address, vrf: Int, inside: IPv4Address, upstreamMAC: MACAddress?, routerInterface: Int) {
      self.address = address
      self.vrf = vrf
      self.inside = inside
      self.upstreamMAC = upstreamMAC
      self.routerInterface = routerInterface
    }
  }
  /// Interface index of the uplink port, or nil: no external network on this node.
  public var uplinkInterface: Int?
  /// The node's MAC on the external network: ARP answers for its floating IPs, and the
  /// source of floating-IP traffic (Neutron's per-node FIP gateway port).
  public var uplinkMAC = MACAddress.zero
  /// The external network's MTU (the largest IPv4 packet the uplink sends).
  public var uplinkMTU = 1500
  public var gateways: [Gateway] = []
  public var floatingIPs: [FloatingIP] = []
  public init() {}
}

/// A router's external gateway as workers read it, indexed by VRF (`externalIP` 0: none).
@frozen
public struct GatewayInfo {
  public var externalIP: UInt32
  public var mac: MACAddress
  public var upstreamMAC: MACAddress
  public var portLow: UInt16
  public var portHigh: UInt16
  public var snatTunnel: Int32
  public var routerInterface: UInt16
  public var snatHere: Bool
  public var upstreamResolved: Bool
}

/// A hosted floating IP as workers read it.
@frozen
public struct FloatingIPInfo {
  public var address: UInt32
  public var inside: UInt32
  public var upstreamMAC: MACAddress
  public var routerInterface: UInt16
  public var upstreamResolved: Bool
  /// The external IP of the floating IP's router: where ICMP errors about packets to the
  /// floating IP come from (the router hop, as traceroute shows it).
  public var routerExternalIP: UInt32
  /// The MTU of the floating IP's network (its router interface's), looked up here at
  /// table-build time so fip-dnat's too-big check costs no dependent load.
  public var mtu: Int
}

/// The flat external-network tables of one snapshot, read by external-input, external-arp,
/// ip4-external, fip-snat, fip-dnat, snat-in2out and snat-out2in.
///
/// Thread safety: immutable once built; freed by `destroy` after a grace period.
@frozen
public struct ExternalTables: @unchecked Sendable {
  public static let kindFloatingIP: UInt64 = 1
  public static let kindSNAT: UInt64 = 2
  /// Interface index of the uplink port, or -1.
  public let uplinkPort: Int
  public let uplinkMAC: MACAddress
  public let uplinkMTU: Int
  /// (1 << 62 | IPv4) → kind << 32 | index (floating IP index, or VRF of a SNAT address):
  /// the external addresses this node answers for.
  public let addresses: ExactTable
  /// (1 << 62 | VRF << 32 | inside IPv4) → floating IP index.
  public let bySource: ExactTable
  public let floatingIPs: UnsafeMutablePointer<FloatingIPInfo>
  public let floatingIPCount: Int
  public let gateways: UnsafeMutablePointer<GatewayInfo>
  public let gatewayCount: Int

  @inlinable @inline(__always)
  public static func addressKey(_ ip: UInt32) -> UInt64 { 1 << 62 | UInt64(ip) }
  @inlinable @inline(__always)
  public static func sourceKey(vrf: UInt16, ip: UInt32) -> UInt64 { 1 << 62 | UInt64(vrf) << 32 | UInt64(ip) }

  /// `routing`: the routing tables' config (its VRFs, and its interfaces' MTUs).
  public init(_ c: ExternalConfig, routing: RoutingConfig) {
    let vrfs = routing.vrfRoutes.count
    uplinkPort = c.uplinkInterface ?? -1
    uplinkMAC = c.uplinkMAC
    uplinkMTU = c.uplinkMTU
    gatewayCount = max(vrfs, 1)
    gateways = .allocate(capacity: gatewayCount)
    gateways.initialize(repeating: GatewayInfo(externalIP: 0, mac: .zero, upstreamMAC: .zero, portLow: 0, portHigh: 0, snatTunnel: -1,
                                               routerInterface: 0, snatHere: false, upstreamResolved: false), count: gatewayCount)
    var addressEntries: [(key: UInt64, value: UInt64)] = []
    for g in c.gateways where g.vrf < gatewayCount {
      gateways[g.vrf] = GatewayInfo(externalIP: g.externalIP.value, mac: g.mac, upstreamMAC: g.upstreamMAC ?? .zero,
                                    portLow: g.portLow, portHigh: g.portHigh, snatTunnel: Int32(g.snatTunnel ?? -1),
                                    routerInterface: UInt16(g.routerInterface), snatHere: g.snatHere,
                                    upstreamResolved: g.upstreamMAC != nil)
      if g.snatHere { addressEntries.append((Self.addressKey(g.externalIP.value), Self.kindSNAT << 32 | UInt64(g.vrf))) }
    }
    floatingIPCount = c.floatingIPs.count
    floatingIPs = .allocate(capacity: max(c.floatingIPs.count, 1))
    var sourceEntries: [(key: UInt64, value: UInt64)] = []
    for (i, f) in c.floatingIPs.enumerated() {
      (floatingIPs + i).initialize(to: FloatingIPInfo(address: f.address.value, inside: f.inside.value, upstreamMAC: f.upstreamMAC ?? .zero,
                                                      routerInterface: UInt16(f.routerInterface), upstreamResolved: f.upstreamMAC != nil,
                                                      routerExternalIP: c.gateways.first { $0.vrf == f.vrf }?.externalIP.value ?? f.address.value,
                                                      mtu: routing.interfaces.indices.contains(f.routerInterface)
                                                        ? routing.interfaces[f.routerInterface]?.mtu ?? Int.max : Int.max))
      addressEntries.append((Self.addressKey(f.address.value), Self.kindFloatingIP << 32 | UInt64(i)))
      sourceEntries.append((Self.sourceKey(vrf: UInt16(f.vrf), ip: f.inside.value), UInt64(i)))
    }
    addresses = ExactTable(addressEntries)
    bySource = ExactTable(sourceEntries)
  }

  /// The address an ICMP error about a packet sent from the external network to `address`
  /// (a floating IP or a SNAT address served here) comes from: the router's external IP.
  /// 0 when `address` is none of ours.
  @inlinable
  public func errorSource(for address: UInt32) -> UInt32 {
    guard let hit = addresses.lookup(Self.addressKey(address)) else { return 0 }
    let index = Int(truncatingIfNeeded: hit & 0xffff_ffff)
    return hit >> 32 == Self.kindFloatingIP ? floatingIPs[index].routerExternalIP : gateways[index].externalIP
  }

  public func destroy() {
    addresses.destroy()
    bySource.destroy()
    floatingIPs.deallocate()
    gateways.deallocate()
  }
}

/// The NAT clock: whole seconds of the time-stamp counter. Workers take it once per poll
/// round (`GraphEnvironment.now`); the control thread uses `now()` to show session ages.
public enum NATClock {
  public static func now() -> UInt32 { UInt32(truncatingIfNeeded: cdpdk_rdtsc() / TSC.hz) }
}
