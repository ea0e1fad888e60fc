import Buffers
import Wire

/// `l2-input`: puts a frame into the bridge domain of the port it arrived on, and
/// enforces port security (a VM may only send from its own MAC).
///
/// Drops: `l2-interface-unattached` (the interface belongs to no network port),
/// `l2-source-spoofed` (source MAC is not the port's, when port security is on).
/// Next nodes: l2-forward, error-drop.
@frozen
public struct L2Input {
  public static let id = NodeID.l2Input
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, interfaces: UnsafeMutablePointer<InterfaceInfo>, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      let info = interfaces[Int(p.inPort)]
      if info.domain == 0 {
        v.drop(i, .l2InterfaceUnattached, node: Self.id, counters: counters)
      } else if info.portSecurity && p.data.loadMAC(at: 6) != info.mac {
        v.drop(i, .l2SourceSpoofed, node: Self.id, counters: counters)
      } else {
        v.packets[i].context = UInt32(info.domain)
        v.next[i] = NodeID.l2Forward.rawValue
      }
    }
  }
}
