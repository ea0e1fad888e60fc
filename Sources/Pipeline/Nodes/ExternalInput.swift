import Buffers
import Tables
import Wire

/// `external-input`: frames from the uplink port (the external, provider network).
/// ARP goes to external-arp. Untagged IPv4 is validated (RFC 1812 §5.2.2: version,
/// lengths, header checksum) and dispatched by destination address: a floating IP hosted on
/// this node → fip-dnat (`context` = floating IP index); a router's external IP whose SNAT
/// runs here → snat-out2in (`context` = the router's VRF).
///
/// Frames are not filtered by destination MAC: on a shared external segment an address
/// that moved here a moment ago may still be sent to this node's old MAC, and the address
/// table alone decides what this node serves.
/// Drops: `external-unsupported`, `ip4-*` header errors, `external-not-for-us`.
/// Next nodes: external-arp, fip-dnat, snat-out2in, error-drop.
@frozen
public struct ExternalInput {
  public static let id = NodeID.externalInput
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, external: ExternalTables, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        let l3 = Int(p.l3Offset)
        let type = p.data.loadBE16(at: l3 &- 2)
        if type == EtherType.arp && l3 == EthernetHeader.minimumLength {
          v.next[i] = NodeID.externalARP.rawValue
          continue
        }
        guard type == EtherType.ipv4 && l3 == EthernetHeader.minimumLength else { throw .externalUnsupported }
        let ip = try IPv4Header(validating: p.data + l3, length: Int(p.length) &- l3)
        guard ip.checksumIsValid else { throw .ipBadChecksum }
        guard let hit = external.addresses.lookup(ExternalTables.addressKey(ip.destination.value)) else { throw .externalNotForUs }
        v.packets[i].context = UInt32(truncatingIfNeeded: hit & 0xffff_ffff)
        v.next[i] = hit >> 32 == ExternalTables.kindFloatingIP ? NodeID.fipDNAT.rawValue : NodeID.snatOut2In.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension ExternalInput: GraphNode {
  public static let next: [NodeID] = [.externalARP, .fipDNAT, .snatOut2In]
  public static let drops: [DropReason] = DropReason.ipv4Errors + [.externalNotForUs, .externalUnsupported]
}
