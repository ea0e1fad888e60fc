import Buffers
import IO
import Synchronization
import Tables

/// The tables a worker reads, published as one immutable snapshot through `RCUBox`.
public final class TableSnapshot: Sendable {
  /// Increases by one with every published change; traces and `show` print it.
  public let generation: UInt64
  public let macTable: MACTable
  public init(generation: UInt64, macTable: MACTable) {
    self.generation = generation
    self.macTable = macTable
  }
  /// Frees what the snapshot owns; `RCUBox` calls it after the grace period.
  public static let retire: @Sendable (TableSnapshot) -> Void = { $0.macTable.destroy() }
}

/// One poll-mode worker: polls its ports in turn, runs each received burst through its
/// graph, and reports a quiescent state after every round (l3fwd's loop shape:
/// rx burst → graph → tx → quiescent).
///
/// Thread safety: `poll` and `run` on the worker's own thread only. The control thread
/// creates the worker, publishes tables through `tables`, and calls `destroy` after the
/// worker has stopped.
@frozen
public struct Worker {
  public let index: Int
  public let ports: UnsafeMutablePointer<Port>
  public let portCount: Int
  public var graph: Graph
  public let pool: NativePool
  public let releaser: BufferReleaser
  /// Strong references: they keep the tables and QSBR alive as long as the worker.
  public let tables: RCUBox<TableSnapshot>
  public let qsbr: QSBR
  /// The same objects, read on the hot path without reference counting
  /// (`_withUnsafeGuaranteedRef`). Valid while `tables`/`qsbr` above hold them.
  @usableFromInline let hotTables: Unmanaged<RCUBox<TableSnapshot>>
  @usableFromInline let hotQSBR: Unmanaged<QSBR>
  /// Packets asked of a port per burst (testpmd's default is 32).
  public let burst: Int
  /// Indices of the ports this worker polls for input (a sink such as net_null or a
  /// pcap writer is never polled).
  public let rxPorts: UnsafeMutablePointer<UInt16>
  public let rxPortCount: Int

  /// `pollPorts` defaults to every port.
  public init(index: Int, ports: [Port], pollPorts: [Int]? = nil, tables: RCUBox<TableSnapshot>,
              poolSize: Int = 8192, burst: Int = 32) {
    precondition(burst > 0 && burst <= PacketVector.capacity)
    let poll = pollPorts ?? Array(ports.indices)
    precondition(poll.allSatisfy { ports.indices.contains($0) })
    rxPortCount = poll.count
    rxPorts = .allocate(capacity: max(poll.count, 1))
    for (i, p) in poll.enumerated() { rxPorts[i] = UInt16(p) }
    self.index = index
    self.portCount = ports.count
    self.ports = .allocate(capacity: max(ports.count, 1))
    self.ports.initialize(from: ports, count: ports.count)
    self.graph = Graph(portCount: ports.count)
    self.pool = NativePool(count: poolSize)
    self.releaser = BufferReleaser(pool: pool)
    self.tables = tables
    self.qsbr = tables.qsbr
    self.hotTables = Unmanaged.passUnretained(tables)
    self.hotQSBR = Unmanaged.passUnretained(tables.qsbr)
    self.burst = burst
  }

  /// One round over every polled port. Returns the number of packets received.
  @inlinable
  public mutating func poll() -> Int {
    let table = hotTables._withUnsafeGuaranteedRef { $0.current._withUnsafeGuaranteedRef { $0.macTable } }
    let env = GraphEnvironment(macTable: table,
                               ports: ports, portCount: portCount, releaser: releaser)
    var total = 0
    for i in 0..<rxPortCount {
      let p = rxPorts[i]
      let n = ports[Int(p)].rx(into: &graph.input.pointee, max: burst, inPort: p, pool: pool)
      if n > 0 {
        graph.run(env)
        total &+= n
      }
    }
    let w = index
    hotQSBR._withUnsafeGuaranteedRef { $0.quiescent(worker: w) }
    return total
  }

  /// Polls until `stop` becomes true. Goes offline for QSBR when it returns.
  public mutating func run(until stop: borrowing Atomic<Bool>) {
    tables.qsbr.online(worker: index)
    while !stop.load(ordering: .relaxed) {
      for _ in 0..<64 { _ = poll() }
    }
    tables.qsbr.offline(worker: index)
  }

  /// Closes the ports and frees everything. Control thread, after `run` returned.
  public func destroy() {
    for i in 0..<portCount { ports[i].close() }
    ports.deinitialize(count: portCount)
    ports.deallocate()
    rxPorts.deallocate()
    graph.destroy()
    releaser.destroy()
    pool.destroy()
  }
}
