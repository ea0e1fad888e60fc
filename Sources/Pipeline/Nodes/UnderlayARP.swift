import Buffers
import Tables
import Wire

/// `underlay-arp`: ARP on the underlay port (RFC 826). This node is the VTEP's own ARP:
/// it answers requests for the local tunnel IP (so peers, kernel VTEPs included, can reach
/// it), and reports what it hears (replies and requests addressed to it) to the control
/// thread as neighbour events; the control thread resolves tunnel next hops from them.
///
/// A request for the tunnel IP is turned into the reply in place and sent back on the
/// underlay port. Everything else is consumed (freed through error-drop, not counted as
/// a drop) or dropped with a reason.
/// Drops: `arp-too-short`, `arp-unsupported`, `underlay-not-for-us` (ARP about another IP),
/// `arp-consumed` (a reply or an announcement, once reported to the control thread).
/// Next nodes: port-output, error-drop.
@frozen
public struct UnderlayARP {
  public static let id = NodeID.underlayARP
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, overlay: OverlayTables, events: Unmanaged<EventRing>, counters: NodeCounters) {
    let me = overlay.localIP, myMAC = overlay.localMAC
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        let arp = try ARPHeader(validating: p.data + Int(p.l3Offset), length: Int(p.length) &- Int(p.l3Offset))
        let sender = arp.senderIP, senderMAC = arp.senderMAC, target = arp.targetIP
        let aboutUs = target == me
        let gratuitous = sender == target
        guard aboutUs || gratuitous else { throw .underlayNotForUs }
        if sender.value != 0 && senderMAC.isUnicast {
          events._withUnsafeGuaranteedRef {
            _ = $0.push(EventRing.Event(kind: .neighbor, key: UInt64(sender.value), value: senderMAC.rawValue, interface: p.inPort))
          }
        }
        if aboutUs && arp.operation == ARPHeader.request && !gratuitous {
          arp.makeReply(from: myMAC, frame: p.data)
          v.packets[i].outPort = p.inPort
          v.next[i] = NodeID.portOutput.rawValue
        } else {
          v.drop(i, .arpConsumed, node: Self.id, counters: counters)   // read by the control plane
        }
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension UnderlayARP: GraphNode {
  public static let next: [NodeID] = [.portOutput]
  public static let drops: [DropReason] = DropReason.arpErrors + [.arpConsumed, .underlayNotForUs]
}
