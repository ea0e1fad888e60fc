import Buffers
import CDPDKShim
import CNumaShim
import Foundation
import IO
import Pipeline
import Synchronization
import Tables

/// The flag the measuring thread raises to stop the workers.
final class StopFlag: Sendable {
  let stop = Atomic<Bool>(false)
}

extension GannetBench {
  /// `--workers N` (dpdk backend): N workers, worker w on CPU w polling RX queue w of the
  /// input, while this thread only waits and reads the ports' counters (summed over every
  /// queue's region) before and after the measured window. Node figures are worker 0's.
  func runWorkers(tables: RCUBox<DataplaneSnapshot>, snapshot: DataplaneSnapshot, sessions: [SessionTable], handoff: Handoff,
                  conntrack: ConnTrack, ports: [IO.Port], memoryMode: String, workload w: Workload) throws {
    let flag = StopFlag()
    nonisolated(unsafe) let all = UnsafeMutablePointer<Worker>.allocate(capacity: workers)
    for i in 0..<workers {
      (all + i).initialize(to: Worker(index: i, tables: tables, maxPorts: snapshot.portCount, burst: burst, sessions: sessions[i],
                                      handoff: handoff, conntrack: conntrack))
    }
    let done = DispatchSemaphore(value: 0)
    var pinned = true
    let pinFailures = Atomic<Int>(0)
    for i in 0..<workers {
      let thread = Thread {
        if cnuma_pin_current_thread(Int32(i)) != 0 { pinFailures.add(1, ordering: .relaxed) }
        DPDK.registerThread()
        (all + i).pointee.run(until: flag.stop)
        DPDK.unregisterThread()
        done.signal()
      }
      thread.name = "bench-worker-\(i)"
      thread.start()
    }
    let rx = ports[0].counters, tx = ports[1].counters
    Thread.sleep(forTimeInterval: warmup)
    let rx0 = rx.portTotal(PortCounter.rxPackets), tx0 = tx.portTotal(PortCounter.txPackets), t0 = Clock.now()
    all[0].graph.counters.block.reset()
    Thread.sleep(forTimeInterval: seconds)
    let result = Measurement(seconds: Clock.now() - t0, rx: rx.portTotal(PortCounter.rxPackets) - rx0,
                             tx: tx.portTotal(PortCounter.txPackets) - tx0)
    flag.stop.store(true, ordering: .relaxed)
    for _ in 0..<workers { done.wait() }
    if pinFailures.load(ordering: .relaxed) > 0 { pinned = false }
    let report = Report(workload: w.name, backend: backend.rawValue, memory: memoryMode, burst: burst, measurement: result,
                        graph: all[0].graph.counters, ports: ports, cores: workers, pinned: pinned)
    print(json ? report.json() : report.table())
    for i in 0..<workers { all[i].destroy() }
    all.deinitialize(count: workers)
    all.deallocate()
    handoff.destroy { cdpdk_mbuf_free($0.mbuf) }
    for t in sessions { t.destroy() }
    conntrack.destroy()
    for p in ports { p.close() }
    DPDK.cleanup()
  }
}
