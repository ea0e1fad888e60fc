import Wire
import Buffers
import IO

/// `port-output`: transmits packets on their `outPort`, one burst per port.
///
/// When the whole vector goes to one port (the common case) it is sent as it is;
/// otherwise packets are grouped per port into staging vectors first. A port takes
/// ownership of what it is given and counts its own drops (`tx-ring-full`, …).
/// Terminal node.
@frozen
public struct PortOutput {
  public static let id = NodeID.portOutput
  /// One staging vector per port, allocated once.
  @usableFromInline let staging: UnsafeMutablePointer<PacketVector>
  @usableFromInline let portCount: Int

  /// `portCount`: the most interfaces any snapshot may have.
  public init(portCount: Int) {
    self.portCount = portCount
    staging = .allocate(capacity: max(portCount, 1))
    for i in 0..<portCount { (staging + i).initialize(to: .allocate()) }
  }
  public func destroy() {
    for i in 0..<portCount { staging[i].deallocate() }
    staging.deallocate()
  }

  @inlinable
  public func process(_ v: inout PacketVector, ports: UnsafeMutablePointer<Port>, portCount active: Int, releaser: BufferReleaser,
                      queue: Int) {
    let n = v.count
    guard n > 0 else { return }
    let first = v.packets[0].outPort
    var same = true
    for i in 1..<n where v.packets[i].outPort != first { same = false; break }
    if same {
      _ = ports[Int(first)].tx(v.packets, count: n, releaser: releaser, queue: queue)
    } else {
      for i in 0..<n {
        let p = v.packets[i]
        staging[Int(p.outPort)].append(p)
      }
      for port in 0..<active where staging[port].count > 0 {
        _ = ports[port].tx(staging[port].packets, count: staging[port].count, releaser: releaser, queue: queue)
        staging[port].count = 0
      }
    }
    v.count = 0
  }
}

extension PortOutput: GraphNode {
  public static let next: [NodeID] = []
  public static let drops: [DropReason] = []
}
