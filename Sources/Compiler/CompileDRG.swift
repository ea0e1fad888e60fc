import Control
import Pipeline
import Tables
import Wire

/// The bridge-domain and router-interface key of a DRG attachment (never a network's id:
/// identifiers have no ':').
func attachmentKey(_ id: String) -> String { "att:\(id)" }

extension DataplaneCompiler {
  /// The MAC that stands for a DRG attachment on the overlay: locally administered, from
  /// its VNI, so both regions of an RPC derive the same one.
  static func attachmentMAC(_ a: DRGAttachment) -> MACAddress {
    MACAddress(0x02, 0x67, 0x6e, UInt8(truncatingIfNeeded: a.vni >> 16), UInt8(truncatingIfNeeded: a.vni >> 8), UInt8(truncatingIfNeeded: a.vni))
  }

  /// Does this node run the data plane of `a`'s DRG?
  static func runsDRG(of a: DRGAttachment, _ s: ControlState, _ node: NodeFacts) -> Bool {
    s.drgs[a.drg]?.gatewayNode == node.tunnelIP
  }

  /// What a packet sent to attachment `b` over the overlay needs: its MAC and the tunnel to
  /// where its DRG side runs (another node's gateway, or a peer region's for an RPC), as a
  /// neighbour value; nil when there is no such tunnel (an RPC not connected, no underlay).
  static func attachmentNeighbor(_ b: DRGAttachment, _ s: ControlState, _ node: NodeFacts, _ a: IndexAssignment) -> UInt64? {
    let remote = b.rpc ? b.peer?.gateway : s.drgs[b.drg]?.gatewayNode
    guard let ip = remote, let t = a.tunnels[ip] else { return nil }
    return attachmentMAC(b).rawValue | UInt64(t & 0x3fff) << 48 | RoutingTables.neighborTunnel
  }

  /// Decapsulation on a DRG's gateway node: packets for a VCN attachment from any node of
  /// the region (the tunnels it has), and for an RPC from the peer region's gateway.
  static func decapDRG(_ s: ControlState, node: NodeFacts, into o: inout OverlayConfig, assignment a: IndexAssignment) {
    for att in s.drgAttachments.values.sorted(by: { $0.id < $1.id }) where runsDRG(of: att, s, node) {
      guard let d = a.domains[attachmentKey(att.id)] else { continue }
      if att.rpc {
        if let ip = att.peer?.gateway, let t = a.tunnels[ip] { o.decapOnly[UInt16(d), default: []].append(t) }
      } else {
        let peers = Set(s.drgAttachments.values.compactMap { $0.peer?.gateway })
        o.decapOnly[UInt16(d), default: []] += a.tunnels.index.filter { !peers.contains($0.key) }.map(\.value).sorted()
      }
    }
  }
}
