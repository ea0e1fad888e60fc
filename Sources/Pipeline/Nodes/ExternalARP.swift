import Buffers
import Tables
import Wire

/// `external-arp`: ARP on the uplink (RFC 826). Answers requests for the addresses this
/// node serves on the external network: its hosted floating IPs (with the node's uplink
/// MAC, as Neutron's FIP namespace proxy-ARPs from its per-node gateway port) and the
/// external IPs of routers whose SNAT runs here (with the router's gateway port MAC).
/// Every ARP packet from a unicast sender is reported to the control thread as an
/// external-neighbour event, from which it resolves the upstream gateways' MACs.
///
/// Drops: `arp-too-short`, `arp-unsupported`, `external-not-for-us` (ARP about another address),
/// `arp-consumed` (a reply or an announcement, once reported to the control thread).
/// Next nodes: port-output, error-drop.
@frozen
public struct ExternalARP {
  public static let id = NodeID.externalARP
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, external: ExternalTables, events: Unmanaged<EventRing>, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        let arp = try ARPHeader(validating: p.data + Int(p.l3Offset), length: Int(p.length) &- Int(p.l3Offset))
        let sender = arp.senderIP, senderMAC = arp.senderMAC
        if sender.value != 0 && senderMAC.isUnicast {
          events._withUnsafeGuaranteedRef {
            _ = $0.push(EventRing.Event(kind: .externalNeighbor, key: UInt64(sender.value), value: senderMAC.rawValue, interface: p.inPort))
          }
        }
        let target = arp.targetIP
        guard arp.operation == ARPHeader.request, target != sender,
              let hit = external.addresses.lookup(ExternalTables.addressKey(target.value)) else {
          if arp.operation == ARPHeader.reply || target == sender {
            v.drop(i, .arpConsumed, node: Self.id, counters: counters)   // read by the control plane
            continue
          }
          throw .externalNotForUs
        }
        let index = Int(truncatingIfNeeded: hit & 0xffff_ffff)
        let mac = hit >> 32 == ExternalTables.kindFloatingIP ? external.uplinkMAC : external.gateways[index].mac
        arp.makeReply(from: mac, frame: p.data)
        v.packets[i].outPort = p.inPort
        v.next[i] = NodeID.portOutput.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension ExternalARP: GraphNode {
  public static let next: [NodeID] = [.portOutput]
  public static let drops: [DropReason] = DropReason.arpErrors + [.arpConsumed, .externalNotForUs]
}
