import Buffers
import Tables
import Wire

/// What the control plane says about the overlay, in plain values: the underlay interface,
/// this VTEP's addresses, the tunnels with their resolved next-hop MACs, which tunnels
/// carry which network, and the IP → MAC bindings the ARP responder answers from.
/// `OverlayTables` turns it into the flat tables workers read.
public struct OverlayConfig: Sendable {
  public struct Tunnel: Sendable {
    /// Stable index (per-tunnel counters are kept per index).
    public var index: Int
    public var remote: IPv4Address
    /// MAC of the underlay next hop towards `remote`; nil while ARP has not answered.
    public var nextHopMAC: MACAddress?
    public init(index: Int, remote: IPv4Address, nextHopMAC: MACAddress?) {
      self.index = index
      self.remote = remote
      self.nextHopMAC = nextHopMAC
    }
  }
  /// Interface index of the underlay port, or nil: no overlay (remote ports unreachable).
  public var underlayInterface: Int?
  public var localMAC = MACAddress.zero
  public var localIP = IPv4Address(0)
  public var underlayMTU = 1500
  public var tunnels: [Tunnel] = []
  /// VNI of each bridge domain.
  public var vni: [UInt16: UInt32] = [:]
  /// Tunnels that carry each bridge domain (head-end replication list, and the only
  /// (tunnel, VNI) pairs accepted on decap).
  public var domainTunnels: [UInt16: [Int]] = [:]
  /// More (domain, tunnel) pairs accepted on decap but not flooded to: with a distributed
  /// router, a node that hosts ports on any of the router's networks sends routed frames on
  /// the *destination* network's VNI, even without a port on that network.
  public var decapOnly: [UInt16: [Int]] = [:]
  /// ARP responder entries: (bridge domain, IPv4) → MAC.
  public var arp: [(domain: UInt16, ip: IPv4Address, mac: MACAddress)] = []
  public init() {}
}

/// The flat, immutable overlay tables of one snapshot, read by underlay-arp, vxlan-input,
/// arp-responder, l2-flood and vxlan-encap.
///
/// Per tunnel a 64-byte encapsulation template holds the whole outer header (RFC 7348 §5):
///
///     0          14                 34         42          50            63
///     +----------+------------------+----------+-----------+ … +---------+
///     | Ethernet | IPv4 (DF, TTL 64,| UDP      | VXLAN     |   | resolved|
///     | nh ← us  | len 0, csum)     | →4789    | I, VNI 0  |   | (0/1)   |
///     +----------+------------------+----------+-----------+ … +---------+
///
/// The IPv4 checksum in the template is computed with total length 0, so encapsulation
/// only adds the length (RFC 1624) and writes UDP source port, UDP length and VNI.
///
/// Thread safety: immutable once built; freed by `destroy` after a grace period.
@frozen
public struct OverlayTables: @unchecked Sendable {
  public static let templateStride = 64
  public static let resolvedOffset = 63
  /// Tunnel indices are below this; per-tunnel counters are sized for it.
  public static let maxTunnels = 4096

  /// Interface index of the underlay port, or -1.
  public let underlayPort: Int
  public let localMAC: MACAddress
  public let localIP: IPv4Address
  public let underlayMTU: Int
  public let tunnelSlots: Int
  public let templates: UnsafeMutableRawPointer
  /// (1 << 63 | source VTEP << 24 | VNI) → bridge domain | tunnel << 16.
  public let decap: ExactTable
  /// (bridge domain << 32 | IPv4) → MAC.
  public let arp: ExactTable
  /// VNI by bridge domain (index 0 unused).
  public let vni: UnsafeMutablePointer<UInt32>
  /// Tunnels of domain d: `floodTunnels[floodStart[d] ..< floodStart[d + 1]]`.
  public let floodStart: UnsafeMutablePointer<Int>
  public let floodTunnels: UnsafeMutablePointer<UInt16>

  @inlinable @inline(__always)
  public static func decapKey(source: UInt32, vni: UInt32) -> UInt64 { 1 << 63 | UInt64(source) << 24 | UInt64(vni & 0xff_ffff) }
  @inlinable @inline(__always)
  public static func arpKey(domain: UInt16, ip: UInt32) -> UInt64 { UInt64(domain) << 32 | UInt64(ip) }

  /// `domains`: the highest bridge domain number.
  public init(_ c: OverlayConfig, domains: Int) {
    underlayPort = c.underlayInterface ?? -1
    localMAC = c.localMAC
    localIP = c.localIP
    underlayMTU = c.underlayMTU
    let slots = max(1, (c.tunnels.map(\.index).max() ?? -1) + 1)
    precondition(slots <= Self.maxTunnels)
    tunnelSlots = slots
    templates = .allocate(byteCount: slots * Self.templateStride, alignment: 64)
    templates.initializeMemory(as: UInt8.self, repeating: 0, count: slots * Self.templateStride)
    for t in c.tunnels { Self.fillTemplate(templates + t.index * Self.templateStride, c, t) }
    vni = .allocate(capacity: domains + 1)
    vni.initialize(repeating: 0, count: domains + 1)
    for (d, v) in c.vni where Int(d) <= domains { vni[Int(d)] = v }
    var decapEntries: [(key: UInt64, value: UInt64)] = []
    floodStart = .allocate(capacity: domains + 2)
    var members: [UInt16] = []
    let remoteOf = Dictionary(c.tunnels.map { ($0.index, $0.remote) }, uniquingKeysWith: { a, _ in a })
    for d in 0...domains {
      floodStart[d] = members.count
      guard d > 0, let list = c.domainTunnels[UInt16(d)] else { continue }
      for t in list.sorted() {
        guard let remote = remoteOf[t] else { continue }
        members.append(UInt16(t))
        decapEntries.append((Self.decapKey(source: remote.value, vni: vni[d]), UInt64(d) | UInt64(t) << 16))
      }
    }
    for (d, list) in c.decapOnly where Int(d) <= domains {
      for t in list { if let remote = remoteOf[t] { decapEntries.append((Self.decapKey(source: remote.value, vni: vni[Int(d)]), UInt64(d) | UInt64(t) << 16)) } }
    }
    floodStart[domains + 1] = members.count
    floodTunnels = .allocate(capacity: max(members.count, 1))
    floodTunnels.initialize(from: members, count: members.count)
    decap = ExactTable(decapEntries)
    arp = ExactTable(c.arp.map { (Self.arpKey(domain: $0.domain, ip: $0.ip.value), $0.mac.rawValue) })
  }

  private static func fillTemplate(_ t: UnsafeMutableRawPointer, _ c: OverlayConfig, _ tunnel: OverlayConfig.Tunnel) {
    t.storeMAC(tunnel.nextHopMAC ?? .zero, at: 0)
    t.storeMAC(c.localMAC, at: 6)
    t.storeBE16(EtherType.ipv4, at: 12)
    let ip = IPv4Header(unchecked: t + 14)
    t.storeU8(0x45, at: 14)
    t.storeBE16(0x4000, at: 20)          // DF: VTEPs must not fragment (RFC 7348 §4.3)
    t.storeU8(64, at: 22)
    t.storeU8(IPProtocol.udp, at: 23)
    t.storeBE32(c.localIP.value, at: 26)
    t.storeBE32(tunnel.remote.value, at: 30)
    ip.fillChecksum()
    t.storeBE16(VXLANHeader.udpPort, at: 36)
    VXLANHeader(unchecked: t + 42).fill(vni: 0)
    t.storeU8(tunnel.nextHopMAC == nil ? 0 : 1, at: resolvedOffset)
  }

  /// Frees the tables. After the grace period (`DataplaneSnapshot.retire`).
  public func destroy() {
    templates.deallocate()
    decap.destroy()
    arp.destroy()
    vni.deallocate()
    floodStart.deallocate()
    floodTunnels.deallocate()
  }
}

/// Per-tunnel counters of one worker: for tunnel t, counters t·stride + 0 rx packets,
/// 1 rx bytes, 2 tx packets, 3 tx bytes (inner frame bytes). Single writer (the worker).
@frozen
public struct TunnelCounters: @unchecked Sendable {
  public static let stride = 4
  public let block: CounterBlock
  public init() { block = CounterBlock(count: OverlayTables.maxTunnels * Self.stride) }
  public func destroy() { block.destroy() }
  @inlinable @inline(__always)
  public func rx(_ tunnel: Int, packets: Int, bytes: Int) {
    block.add(tunnel &* Self.stride, UInt64(packets))
    block.add(tunnel &* Self.stride &+ 1, UInt64(bytes))
  }
  @inlinable @inline(__always)
  public func tx(_ tunnel: Int, packets: Int, bytes: Int) {
    block.add(tunnel &* Self.stride &+ 2, UInt64(packets))
    block.add(tunnel &* Self.stride &+ 3, UInt64(bytes))
  }
  /// (rx packets, rx bytes, tx packets, tx bytes) of `tunnel`. Any thread.
  public func read(_ tunnel: Int) -> [UInt64] { (0..<Self.stride).map { block.read(tunnel * Self.stride + $0) } }
}
