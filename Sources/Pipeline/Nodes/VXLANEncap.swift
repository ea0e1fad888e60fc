import Buffers
import Wire

/// `vxlan-encap`: encapsulates frames whose destination MAC is behind another node's VTEP
/// (l2-forward set `outPort` = tunnel index, `context` = bridge domain) in VXLAN with the
/// network's VNI (RFC 7348 §5) and sends them out of the underlay port.
///
/// The outer header comes from the tunnel's template (`OverlayTables`): Ethernet from this
/// VTEP's MAC to the resolved underlay next hop, IPv4 with DF set (VTEPs must not fragment,
/// §4.3) and an incrementally completed checksum (RFC 1624), UDP to 4789 with checksum 0
/// (allowed over IPv4, §5), and a source port hashed from the inner flow in 49152–65535,
/// so that underlay ECMP spreads flows while keeping each flow on one path (§5).
///
/// Drops: `vxlan-next-hop-unresolved` (ARP for the next hop has not answered yet),
/// `vxlan-mtu-exceeded` (the outer packet would exceed the underlay MTU: never truncated,
/// never fragmented), `vxlan-no-headroom`.
/// Next nodes: port-output, error-drop.
@frozen
public struct VXLANEncap {
  public static let id = NodeID.vxlanEncap
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, overlay: OverlayTables, tunnelCounters: TunnelCounters, counters: NodeCounters) {
    for i in 0..<v.count {
      let tunnel = Int(v.packets[i].outPort)
      let bytes = Int(v.packets[i].length)
      if let reason = Self.encapsulate(&v.packets[i], tunnel: tunnel, overlay: overlay) {
        v.drop(i, reason, node: Self.id, counters: counters)
      } else {
        tunnelCounters.tx(tunnel, packets: 1, bytes: bytes)
        v.next[i] = NodeID.portOutput.rawValue
      }
    }
  }

  /// Prepends the outer headers of `tunnel` to `p` (an inner Ethernet frame in bridge
  /// domain `p.context`) and points `p.outPort` at the underlay port. Returns the drop
  /// reason instead when the frame cannot be sent; `p` is then unchanged. Worker thread;
  /// also used by l2-flood for head-end replication.
  @inlinable @inline(__always)
  public static func encapsulate(_ p: inout Packet, tunnel: Int, overlay: OverlayTables) -> DropReason? {
    let template = overlay.templates + tunnel &* OverlayTables.templateStride
    guard template.loadU8(at: OverlayTables.resolvedOffset) != 0 else { return .vxlanNextHopUnresolved }
    let inner = Int(p.length)
    let ipLength = inner &+ (VXLANHeader.overhead &- EthernetHeader.minimumLength)
    guard ipLength <= overlay.underlayMTU else { return .vxlanMTUExceeded }
    guard p.headroom >= VXLANHeader.overhead else { return .vxlanNoHeadroom }
    let sourcePort = 0xc000 | UInt16(truncatingIfNeeded: flowHash(p.data, length: inner) >> 50)
    let vni = overlay.vni[Int(p.context)]
    let outer = p.data - VXLANHeader.overhead
    outer.copyMemory(from: template, byteCount: VXLANHeader.overhead)
    outer.storeBE16(UInt16(truncatingIfNeeded: ipLength), at: 16)
    outer.storeBE16(Checksum.update(outer.loadBE16(at: 24), old: 0, new: UInt16(truncatingIfNeeded: ipLength)), at: 24)
    outer.storeBE16(sourcePort, at: 34)
    outer.storeBE16(UInt16(truncatingIfNeeded: ipLength &- IPv4Header.minimumLength), at: 38)
    outer.storeBE32(vni << 8, at: 46)
    p.data = outer
    p.length = UInt32(truncatingIfNeeded: inner &+ VXLANHeader.overhead)
    p.outPort = UInt16(truncatingIfNeeded: overlay.underlayPort)
    return nil
  }

  /// A hash of the inner flow from fields every packet of the flow shares: both MACs, and
  /// for untagged IPv4 both addresses and the protocol's flow key — the ports of TCP and UDP
  /// (the first four L4 bytes), the identifier of ICMP (bytes 4–5: an echo's identifier, not
  /// its checksum or sequence number, which change with every packet). The caller
  /// guarantees `length` ≥ 14.
  @inlinable @inline(__always)
  static func flowHash(_ f: UnsafeMutableRawPointer, length: Int) -> UInt64 {
    var h = f.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
      ^ UInt64(f.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) &* 0x9e37_79b9_7f4a_7c15
    if f.loadBE16(at: 12) == EtherType.ipv4 && length >= 38 {
      let ihl = Int(f.loadU8(at: 14) & 0x0f) &* 4
      h = (h ^ f.loadUnaligned(fromByteOffset: 26, as: UInt64.self)) &* 0xc2b2_ae3d_27d4_eb4f
      let icmp = f.loadU8(at: 23) == IPProtocol.icmp
      let key = 14 &+ ihl &+ (icmp ? 4 : 0), keyBytes = icmp ? 2 : 4
      if length >= key &+ keyBytes {
        h ^= icmp ? UInt64(f.loadUnaligned(fromByteOffset: key, as: UInt16.self)) : UInt64(f.loadUnaligned(fromByteOffset: key, as: UInt32.self))
      }
    }
    return (h ^ (h >> 29)) &* 0x9e37_79b9_7f4a_7c15
  }
}

extension VXLANEncap: GraphNode {
  public static let next: [NodeID] = [.portOutput]
  public static let drops: [DropReason] = [.vxlanMTUExceeded, .vxlanNextHopUnresolved, .vxlanNoHeadroom]
}
