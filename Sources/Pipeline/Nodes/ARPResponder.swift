import Buffers
import Tables
import Wire

/// `arp-responder`: answers ARP requests from local VMs for IPs of known ports of the same
/// network from the control plane's table, so that these broadcasts never cross the
/// overlay (Neutron l2population's ARP responder, OVN's `arp` action). The control plane
/// puts only ports with port security (an enforced MAC/IP binding) in the table.
///
/// Only requests (RFC 826) that ask about another port are answered; gratuitous ARP
/// (sender IP = target IP), requests for unknown IPs, and requests for the asker's own
/// MAC (RFC 5227 probes of its own address) go on to l2-forward and are switched as usual.
/// Replies are built in place and sent back to the port the request came from. Frames
/// with VLAN tags are switched, not answered.
/// Drops: `arp-too-short`, `arp-unsupported`.
/// Next nodes: port-output, l2-forward, error-drop.
@frozen
public struct ARPResponder {
  public static let id = NodeID.arpResponder
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, overlay: OverlayTables, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        let arp = try ARPHeader(validating: p.data + Int(p.l3Offset), length: Int(p.length) &- Int(p.l3Offset))
        v.next[i] = NodeID.l2Forward.rawValue
        let sender = arp.senderIP, target = arp.targetIP, asker = p.data.loadMAC(at: 6)
        guard p.l3Offset == UInt16(EthernetHeader.minimumLength), arp.operation == ARPHeader.request, sender != target,
              let raw = overlay.arp.lookup(OverlayTables.arpKey(domain: UInt16(truncatingIfNeeded: p.context), ip: target.value))
        else { continue }
        let owner = MACAddress(rawValue: raw)
        guard owner != asker else { continue }
        arp.makeReply(from: owner, frame: p.data)
        v.packets[i].outPort = p.inPort
        v.next[i] = NodeID.portOutput.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension ARPResponder: GraphNode {
  public static let next: [NodeID] = [.l2Forward, .portOutput]
  public static let drops: [DropReason] = DropReason.arpErrors
}
