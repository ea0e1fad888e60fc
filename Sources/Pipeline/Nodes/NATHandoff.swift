import Buffers
import Wire

/// `nat-handoff`: sends a SNAT packet to the worker that owns its session (VPP's
/// `nat44-ed-handoff`). With more than one worker each owns its own connection table and a
/// slice of every router's port range (`NATPartition`); snat-in2out and snat-out2in send
/// here, instead of translating, a packet that belongs to another worker, naming that
/// worker and the node to resume at in `outPort` (`tag(node:worker:)`). The packet goes
/// into the handoff ring from this worker to the owner, which runs it from that node on
/// (its `context` and `inPort` travel with it). No lock and no shared write: each ring has
/// one producer and one consumer.
///
/// Drops: `nat-handoff-ring-full` (the owner fell behind). The owner counts
/// `nat-handoff-no-buffer` on this node when it has no buffer to receive a native frame.
/// Next nodes: none (handed over) or error-drop.
@frozen
public struct NATHandoff {
  public static let id = NodeID.natHandoff
  public init() {}

  /// The `outPort` value that sends a packet to `worker`, resuming at `node`.
  @inlinable @inline(__always)
  public static func tag(node: NodeID, worker: Int) -> UInt16 { node.rawValue << 8 | UInt16(truncatingIfNeeded: worker) }

  @inlinable
  public func process(_ v: inout PacketVector, handoff: Handoff, worker: Int, pool: NativePool, counters: NodeCounters) {
    var kept = 0
    for i in 0..<v.count {
      let p = v.packets[i]
      let to = Int(p.outPort & 0xff), node = p.outPort >> 8
      if to < handoff.workers && to != worker && handoff.ring(from: worker, to: to).push(p, node: node, pool: pool) { continue }
      v.packets[kept] = p
      v.packets[kept].drop = DropReason.natHandoffRingFull.rawValue
      v.next[kept] = NodeID.errorDrop.rawValue
      counters.drop(Self.id, .natHandoffRingFull)
      kept &+= 1
    }
    for to in 0..<handoff.workers where to != worker { handoff.ring(from: worker, to: to).publish() }
    v.count = kept
  }
}

extension PacketVector {
  /// Sends packet `i` to nat-handoff, for `worker` to run from `node` on.
  @inlinable @inline(__always)
  public func handOff(_ i: Int, to worker: Int, resumingAt node: NodeID) {
    packets[i].outPort = NATHandoff.tag(node: node, worker: worker)
    next[i] = NodeID.natHandoff.rawValue
  }
}

extension NATHandoff: GraphNode {
  public static let next: [NodeID] = []
  public static let drops: [DropReason] = [.natHandoffRingFull, .natHandoffNoBuffer]
}
