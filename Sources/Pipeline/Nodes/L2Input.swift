import Buffers
import Tables
import Wire

/// `l2-input`: puts a frame into the bridge domain of the port it arrived on, enforces
/// port security (a VM may only send from its own MAC), and on learning networks
/// announces source MACs the table does not know here (new, moved, or stale) to the
/// control thread through the worker's `EventRing`; the control thread decides.
///
/// Drops: `l2-interface-unattached` (the interface belongs to no network port),
/// `l2-source-spoofed` (source MAC is not the port's, when port security is on).
/// Untagged ARP goes to arp-responder first.
/// Next nodes: l2-forward, arp-responder, error-drop.
@frozen
public struct L2Input {
  public static let id = NodeID.l2Input
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, interfaces: UnsafeMutablePointer<InterfaceInfo>, table: L2Table,
                      events: Unmanaged<EventRing>, generation: UInt64, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      let info = interfaces[Int(p.inPort)]
      if info.domain == 0 {
        v.drop(i, .l2InterfaceUnattached, node: Self.id, counters: counters)
      } else if info.portSecurity && p.data.loadMAC(at: 6) != info.mac {
        v.drop(i, .l2SourceSpoofed, node: Self.id, counters: counters)
      } else {
        if info.learning {
          let src = p.data.loadMAC(at: 6)
          // Announce unknown MACs, learned ones now seen on another interface, and stale
          // ones; a static entry (a port's own MAC, l2population) is never overridden.
          let announce: Bool
          if let k = table.lookup(domain: info.domain, mac: src) {
            announce = k & L2Value.learned != 0
              && (k & L2Value.stale != 0 || k & L2Value.interfaceMask != UInt32(p.inPort))
          } else {
            announce = src.isUnicast
          }
          if announce {
            let key = L2Table.key(domain: info.domain, mac: src), port = p.inPort
            events._withUnsafeGuaranteedRef { _ = $0.push(.macSeen(key: key, interface: port, generation: generation)) }
          }
        }
        v.packets[i].context = UInt32(info.domain)
        v.next[i] = p.data.loadBE16(at: 12) == EtherType.arp ? NodeID.arpResponder.rawValue : info.nonARPNext
      }
    }
  }
}

extension L2Input: GraphNode {
  public static let next: [NodeID] = [.aclEgress, .arpResponder, .l2Forward]
  public static let drops: [DropReason] = [.l2InterfaceUnattached, .l2SourceSpoofed]
}
