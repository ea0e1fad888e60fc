import Buffers
import Wire

/// `ethernet-input`: validates the Ethernet header (IEEE 802.3, up to two 802.1Q/802.1ad
/// tags), records where L3 starts, and hands the frame to l2-input.
///
/// Drops: `l2-too-short`, `l2-vlan-too-short`, `l2-too-many-tags`, `l2-source-multicast`
/// (a group address is never a valid source, IEEE 802.3 §3.2.3).
/// Next nodes: l2-input, error-drop.
@frozen
public struct EthernetInput {
  public static let id = NodeID.ethernetInput
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        let eth = try EthernetHeader(validating: p.data, length: Int(p.length))
        if eth.source.isMulticast { throw .l2SourceMulticast }
        v.packets[i].l3Offset = UInt16(truncatingIfNeeded: eth.headerLength)
        v.next[i] = NodeID.l2Input.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}
