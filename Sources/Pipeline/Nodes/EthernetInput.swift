import Buffers
import Wire

/// `ethernet-input`: validates the Ethernet header (IEEE 802.3, up to two 802.1Q/802.1ad
/// tags), records where L3 starts, and dispatches: frames from VM ports go to l2-input;
/// frames from the underlay port go by EtherType to underlay-arp (ARP) or vxlan-input
/// (untagged IPv4); frames from the uplink port (external network) go to external-input.
///
/// Drops: `l2-too-short`, `l2-vlan-too-short`, `l2-too-many-tags`, `l2-source-multicast`
/// (a group address is never a valid source, IEEE 802.3 §3.2.3), `underlay-unsupported`
/// (anything else on the underlay: IPv6, VLAN-tagged, …).
/// Next nodes: l2-input, underlay-arp, vxlan-input, external-input, error-drop.
@frozen
public struct EthernetInput {
  public static let id = NodeID.ethernetInput
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, underlayPort: Int, uplinkPort: Int, counters: NodeCounters) {
    let underlay = UInt16(truncatingIfNeeded: underlayPort)
    let uplink = UInt16(truncatingIfNeeded: uplinkPort)
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        let eth = try EthernetHeader(validating: p.data, length: Int(p.length))
        if eth.source.isMulticast { throw .l2SourceMulticast }
        v.packets[i].l3Offset = UInt16(truncatingIfNeeded: eth.headerLength)
        if p.inPort == uplink && uplinkPort >= 0 {
          v.next[i] = NodeID.externalInput.rawValue
        } else if p.inPort != underlay || underlayPort < 0 {
          v.next[i] = NodeID.l2Input.rawValue
        } else if eth.tagCount == 0 && eth.etherType == EtherType.ipv4 {
          v.next[i] = NodeID.vxlanInput.rawValue
        } else if eth.tagCount == 0 && eth.etherType == EtherType.arp {
          v.next[i] = NodeID.underlayARP.rawValue
        } else {
          throw .underlayUnsupported
        }
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension EthernetInput: GraphNode {
  public static let next: [NodeID] = [.underlayARP, .vxlanInput, .externalInput, .l2Input]
  public static let drops: [DropReason] = DropReason.ethernetErrors + [.l2SourceMulticast, .underlayUnsupported,
    .operatorFlowDrop, .operatorFlowNoBuffer]   // counted here: operator flows run just before this node
}
