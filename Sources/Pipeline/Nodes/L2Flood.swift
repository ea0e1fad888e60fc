import Buffers
import IO
import Wire

/// `l2-flood`: sends broadcast, multicast and unknown-unicast frames to every other
/// local port of their bridge domain, and nowhere else: a frame never leaves its network.
///
/// Each extra member gets a copy in a fresh native buffer; the last member gets the
/// original. Copies are transmitted directly, one port at a time. BUM traffic is a small
/// share of packets (ARP, DHCP), so this node favours simplicity over batching.
/// Drops: `l2-flood-no-members` (no other local port in the network),
/// `l2-flood-no-buffer` (a copy could not be made; that member misses the frame).
/// Terminal node (its packets leave through the ports or error-drop).
@frozen
public struct L2Flood {
  public static let id = NodeID.l2Flood
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, env: GraphEnvironment, counters: NodeCounters) {
    let pool = env.pool, releaser = env.releaser, ports = env.ports, queue = env.queue
    let floodStart = env.floodStart, floodMembers = env.floodMembers
    var kept = 0
    for i in 0..<v.count {
      let p = v.packets[i]
      let d = Int(p.context)
      let start = floodStart[d], end = floodStart[d &+ 1]
      // The last member that is not the input port receives the original.
      var last = -1
      for k in start..<end where floodMembers[k] != p.inPort { last = k }
      if last < 0 {
        counters.drop(Self.id, .l2FloodNoMembers)
        v.packets[kept] = p
        v.packets[kept].drop = DropReason.l2FloodNoMembers.rawValue
        v.next[kept] = NodeID.errorDrop.rawValue
        kept &+= 1
        continue
      }
      for k in start..<last where floodMembers[k] != p.inPort {
        guard let b = pool.alloc() else {
          counters.drop(Self.id, .l2FloodNoBuffer)
          continue
        }
        let dst = b + pool.headroom
        dst.copyMemory(from: p.data, byteCount: Int(p.length))
        var copy = Packet(data: dst, buffer: b, length: p.length, inPort: p.inPort, flags: 0)
        _ = ports[Int(floodMembers[k])].tx(&copy, count: 1, releaser: releaser, queue: queue)
      }
      var original = p
      _ = ports[Int(floodMembers[last])].tx(&original, count: 1, releaser: releaser, queue: queue)
    }
    // Only packets bound for error-drop stay in the vector.
    v.count = kept
  }
}
