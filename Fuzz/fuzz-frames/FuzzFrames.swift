import FuzzDriver
import Buffers
import Compiler
import Control
import Fixtures
import IO
import Pipeline
import Tables
import Wire

// libFuzzer target: arbitrary frames through the whole graph, on every kind of port.
//
// Input: byte 0 picks the port the frame arrives on (VM with a router and a floating IP,
// VM without, a VM without port security on a second network, the underlay, the uplink);
// the rest is the frame. After each frame: no crash (ASan), every buffer is back in the
// pool, the frame was either sent somewhere or counted as a named drop, and (debug
// builds) it only took edges its nodes declare.

let names = FuzzCloud.names
func makeSnapshot(_ ports: [MemoryPort]) -> DataplaneSnapshot {
  var byName: [String: Port] = [:]
  for (n, p) in zip(names, ports) { byName[n] = .memory(p) }
  do { return try DataplaneCompiler.snapshot(requests: FuzzCloud.requests, node: FuzzCloud.node, ports: byName) } catch {
    fatalError("fuzz rig: \(error)")
  }
}

/// Everything one run of the target keeps between inputs (libFuzzer calls it in one thread).
final class Harness {
  let ports = names.map { _ in MemoryPort() }
  let qsbr = QSBR(workers: 1)
  let tables: RCUBox<DataplaneSnapshot>
  var worker: Worker
  init() {
    tables = RCUBox(makeSnapshot(ports), qsbr: qsbr, retire: DataplaneSnapshot.retire)
    worker = Worker(index: 0, tables: tables, maxPorts: 16, poolSize: 1024,
                    sessions: SessionTable(capacity: 4096, timeouts: NATTimeouts()))
    qsbr.online(worker: 0)
  }

  /// Sent packets plus named drops, over every port and node.
  func accounted() -> UInt64 {
    var n: UInt64 = 0
    for p in ports {
      n &+= p.counters.portTotal(PortCounter.txPackets)
      for r in DropReason.allCases { n &+= p.counters.drops(r) }
    }
    for (_, _, c) in worker.graph.counters.allDrops() { n &+= c }
    return n
  }
}

nonisolated(unsafe) let harness = Harness()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size >= 1 else { return 0 }
  let port = Int(data[0]) % harness.ports.count
  let frame = Array(UnsafeBufferPointer(start: data + 1, count: min(size - 1, MemoryPort.slotSize)))
  let before = harness.accounted()
  guard harness.ports[port].inject(frame) else { return 0 }
  while harness.worker.poll() > 0 {}
  for p in harness.ports { _ = p.drainCaptured() }
  let pool = harness.worker.pool
  if pool.available != pool.capacity {
    fatalError("buffer pool unbalanced: \(pool.capacity - pool.available) buffers not returned (port \(port), \(frame.count) bytes)")
  }
  let undeclared = Rig.undeclaredEdges(harness.worker.graph)
  if !undeclared.isEmpty { fatalError("a packet took an undeclared edge: \(undeclared) (port \(port), \(frame.count) bytes)") }
  if harness.accounted() == before {
    fatalError("a frame was neither sent nor counted as a drop (port \(port), \(frame.count) bytes)")
  }
  return 0
}

@_cdecl("fuzz_frames_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
  runFuzzer(argc, argv, fuzzFrame)
}
