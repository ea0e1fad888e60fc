import Wire
import Buffers

/// `error-drop`: releases the buffers of dropped packets. The node that decided a drop
/// already counted it with its reason; this node only frees, in bulk. Terminal node.
@frozen
public struct ErrorDrop {
  public static let id = NodeID.errorDrop
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, releaser: BufferReleaser) {
    releaser.release(v.packets, count: v.count)
    v.count = 0
  }
}

extension ErrorDrop: GraphNode {
  public static let next: [NodeID] = []
  public static let drops: [DropReason] = []
}
