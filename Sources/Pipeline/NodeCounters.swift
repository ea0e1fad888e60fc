import Buffers
import Wire

/// Counters of every node on one worker. Index layout: per node a block of
/// `stride` counters: 0 vectors (calls), 1 packets, 2 cycles (TSC), 3 + r: drops with
/// `DropReason(rawValue: r)`.
///
/// Thread safety: single writer (the worker), any reader (see `CounterBlock`).
@frozen
public struct NodeCounters: @unchecked Sendable {
  public static let stride = 3 + 256
  public let block: CounterBlock
  public init() { block = CounterBlock(count: NodeID.count * Self.stride) }
  public func destroy() { block.destroy() }

  /// Success counters, once per vector (VPP `vlib_node_increment_counter` after the loop).
  @inlinable @inline(__always)
  public func vector(_ node: NodeID, packets: Int, cycles: UInt64) {
    let b = Int(node.rawValue) &* Self.stride
    block.add(b, 1)
    block.add(b &+ 1, UInt64(packets))
    block.add(b &+ 2, cycles)
  }
  /// A drop, counted where it is decided.
  @inlinable @inline(__always)
  public func drop(_ node: NodeID, _ reason: DropReason, _ n: UInt64 = 1) {
    block.add(Int(node.rawValue) &* Self.stride &+ 3 &+ Int(reason.rawValue), n)
  }

  public func vectors(_ node: NodeID) -> UInt64 { block.read(Int(node.rawValue) * Self.stride) }
  public func packets(_ node: NodeID) -> UInt64 { block.read(Int(node.rawValue) * Self.stride + 1) }
  public func cycles(_ node: NodeID) -> UInt64 { block.read(Int(node.rawValue) * Self.stride + 2) }
  public func drops(_ node: NodeID, _ reason: DropReason) -> UInt64 {
    block.read(Int(node.rawValue) * Self.stride + 3 + Int(reason.rawValue))
  }
  /// Every non-zero (node, reason, count), for `show drops`.
  public func allDrops() -> [(NodeID, DropReason, UInt64)] {
    var out: [(NodeID, DropReason, UInt64)] = []
    for n in NodeID.allCases {
      for r in DropReason.allCases {
        let c = drops(n, r)
        if c > 0 { out.append((n, r, c)) }
      }
    }
    return out
  }
}

extension PacketVector {
  /// Marks packet `i` dropped with `reason`, counts it for `node` and sends it to error-drop.
  @inlinable @inline(__always)
  public func drop(_ i: Int, _ reason: DropReason, node: NodeID, counters: NodeCounters) {
    packets[i].drop = reason.rawValue
    next[i] = NodeID.errorDrop.rawValue
    counters.drop(node, reason)
  }
}
