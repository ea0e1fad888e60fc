import Buffers
import Tables
import Wire

/// `l2-forward`: looks the destination MAC up in the frame's bridge domain
/// (`Packet.context`, set by l2-input) and picks the output interface.
///
/// Broadcast, multicast and unknown unicast destinations go to l2-flood, which copies
/// them to the other local ports of the same network only.
/// Drops: `l2-hairpin` (the destination is the port the frame came from: a switch never
/// sends a frame back, IEEE 802.1Q §8.6.1), `l2-no-output-port` (an entry names an
/// interface that does not exist), `l2-remote-unreachable` (the destination is on
/// another node and this node has no underlay), `l2-tunnel-to-tunnel` (a frame that came
/// out of a tunnel is never sent into another one: split horizon, as every VTEP does).
/// Remote destinations go to vxlan-encap with `outPort` = tunnel index.
/// Frames to a router interface's gateway MAC go to ip4-input (`context` = router interface).
/// Frames to a router's SNAT port MAC (on its SNAT node) go to snat-in2out (`context` = router interface).
/// Next nodes: port-output, l2-flood, vxlan-encap, ip4-input, snat-in2out, error-drop.
@frozen
public struct L2Forward {
  public static let id = NodeID.l2Forward
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, table: L2Table, portCount: Int, underlayPort: Int, counters: NodeCounters,
                      hits: CounterBlock) {
    let underlay = UInt16(truncatingIfNeeded: underlayPort)
    for i in 0..<v.count {
      let p = v.packets[i]
      let dst = p.data.loadMAC(at: 0)
      let slot = dst.isMulticast ? -1 : table.slot(domain: UInt16(truncatingIfNeeded: p.context), mac: dst)
      guard slot >= 0 else {
        v.next[i] = NodeID.l2Flood.rawValue
        continue
      }
      // The entry's hits (dump-flows): this worker's own counters in the snapshot.
      hits.add(slot &* 2, 1)
      hits.add(slot &* 2 &+ 1, UInt64(p.length))
      let value = table.value(atSlot: slot)
      if value & L2Value.router != 0 {
        // A gateway MAC: route. Only a local VM's frames are routed here (DVR: the source
        // node routes; the overlay never carries frames to a gateway MAC), and on a DRG's
        // gateway node what arrives for its attachments (`transit`).
        if value & L2Value.snat != 0 {
          // The router's SNAT port on its SNAT node: frames other nodes routed here.
          v.packets[i].context = value & L2Value.interfaceMask
          v.next[i] = NodeID.snatIn2Out.rawValue
        } else if p.inPort == underlay && underlayPort >= 0 && value & L2Value.transit == 0 {
          v.drop(i, .ip4RoutedFromTunnel, node: Self.id, counters: counters)
        } else {
          v.packets[i].context = value & L2Value.interfaceMask
          v.next[i] = NodeID.ip4Input.rawValue
        }
        continue
      }
      if value & L2Value.remote != 0 {
        if underlayPort < 0 {
          v.drop(i, .l2RemoteUnreachable, node: Self.id, counters: counters)
        } else if p.inPort == underlay {
          v.drop(i, .l2TunnelToTunnel, node: Self.id, counters: counters)
        } else {
          v.packets[i].outPort = UInt16(truncatingIfNeeded: value & L2Value.interfaceMask)
          v.next[i] = NodeID.vxlanEncap.rawValue
        }
        continue
      }
      let out = value & L2Value.interfaceMask
      if Int(out) >= portCount {
        v.drop(i, .l2NoOutputPort, node: Self.id, counters: counters)
      } else if out == UInt32(p.inPort) {
        v.drop(i, .l2Hairpin, node: Self.id, counters: counters)
      } else {
        v.packets[i].outPort = UInt16(truncatingIfNeeded: out)
        // acl-ingress is the node just before port-output: a filtered destination is one less.
        v.next[i] = NodeID.portOutput.rawValue &- UInt16(truncatingIfNeeded: (value >> 26) & 1)
      }
    }
  }
}

extension L2Forward: GraphNode {
  public static let next: [NodeID] = [.ip4Input, .snatIn2Out, .l2Flood, .vxlanEncap, .aclIngress, .portOutput]
  public static let drops: [DropReason] = [.l2NoOutputPort, .l2Hairpin, .l2RemoteUnreachable, .l2TunnelToTunnel, .ip4RoutedFromTunnel]
}
