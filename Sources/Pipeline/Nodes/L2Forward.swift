import Buffers
import Tables
import Wire

/// `l2-forward`: looks the destination MAC up in the static MAC table and sets the
/// output port.
///
/// Drops: `l2-unknown-destination` (no entry; flooding of unknown, broadcast and
/// multicast destinations is a later node), `l2-no-output-port` (entry names a port this
/// worker does not have), `l2-hairpin` (destination is the input port: a switch never
/// sends a frame back where it came from, IEEE 802.1Q §8.6.1).
/// Next nodes: port-output, error-drop.
@frozen
public struct L2Forward {
  public static let id = NodeID.l2Forward
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, table: MACTable, portCount: Int, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      let dst = p.data.loadMAC(at: 0)
      guard let out = table.lookup(dst) else {
        v.drop(i, .l2UnknownDestination, node: Self.id, counters: counters)
        continue
      }
      if Int(out) >= portCount {
        v.drop(i, .l2NoOutputPort, node: Self.id, counters: counters)
      } else if out == p.inPort {
        v.drop(i, .l2Hairpin, node: Self.id, counters: counters)
      } else {
        v.packets[i].outPort = out
        v.next[i] = NodeID.portOutput.rawValue
      }
    }
  }
}
