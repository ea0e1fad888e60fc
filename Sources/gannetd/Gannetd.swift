import ArgumentParser
import Buffers
import Dispatch
import Foundation
import IO
import Logging
import Pipeline
import Synchronization
import Tables
import Wire

/// Set by SIGTERM/SIGINT; the worker polls it between rounds.
final class StopFlag: Sendable {
  let stop = Atomic<Bool>(false)
}

@main
struct Gannetd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gannetd",
    abstract: "Gannet data-plane daemon: one poll-mode worker switching frames between ports.",
    discussion: """
      This build switches by a static MAC table given on the command line; the control
      socket, tenant networks and config file come next.
      Example:
        gannetd --port af-packet:veth1 --port af-packet:veth2 \\
                --mac fa:16:3e:00:00:01=0 --mac fa:16:3e:00:00:02=1
      """)

  @Option(name: .customLong("port"), help: "A port spec (repeatable); ports are numbered from 0 in order.")
  var ports: [String] = []
  @Option(name: .customLong("mac"), help: "Static MAC entry MAC=PORT (repeatable).")
  var macs: [String] = []

  func run() throws {
    var log = Logger(label: "gannetd")
    log.logLevel = .info
    guard !ports.isEmpty else { throw ValidationError("--port: at least one port is needed") }
    let specs = try ports.map { text -> PortSpec in
      do { return try PortSpec(parsing: text) } catch { throw ValidationError("--port: \(error)") }
    }
    let entries = try macs.map { text -> (MACAddress, UInt16) in
      let parts = text.split(separator: "=")
      guard parts.count == 2, let mac = MACAddress(parts[0]), let port = UInt16(parts[1]), Int(port) < specs.count else {
        throw ValidationError("--mac \(text): expected MAC=PORT with PORT below \(specs.count)")
      }
      return (mac, port)
    }
    var pool: OpaquePointer? = nil
    if specs.contains(where: \.needsDPDK) {
      let mode = DPDK.detectMemoryMode()
      try DPDK.initialize(arguments: DPDK.ealArguments(mode: mode, memoryMB: 1024))
      pool = try DPDK.createPool(name: "gannetd", count: 16384)
      log.info("DPDK initialized", metadata: ["memory": "\(mode.rawValue)"])
    }
    let opened = try specs.map { try $0.open(mbufPool: pool) }
    for (i, s) in specs.enumerated() { log.info("port \(i): \(s)") }

    let qsbr = QSBR(workers: 1)
    let tables = RCUBox(TableSnapshot(generation: 1, macTable: MACTable(entries)), qsbr: qsbr, retire: TableSnapshot.retire)
    let flag = StopFlag()
    let signals = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
      signal(sig, SIG_IGN)
      let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      src.setEventHandler { flag.stop.store(true, ordering: .relaxed) }
      src.resume()
      return src
    }
    let pollPorts = specs.indices.filter { if case .pcapWriter = specs[$0] { false } else { true } }
    nonisolated(unsafe) var worker = Worker(index: 0, ports: opened, pollPorts: pollPorts, tables: tables)
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
      worker.run(until: flag.stop)
      done.signal()
    }
    thread.name = "gannet-worker-0"
    thread.start()
    log.info("running", metadata: ["ports": "\(opened.count)", "macs": "\(entries.count)"])
    done.wait()
    _ = signals
    for (i, p) in opened.enumerated() {
      let c = p.counters
      log.info("port \(i) \(p.kind): rx \(c.read(PortCounter.rxPackets)) tx \(c.read(PortCounter.txPackets))")
    }
    for (node, reason, count) in worker.graph.counters.allDrops() {
      log.info("drop \(node.name) \(reason.name): \(count)")
    }
    worker.destroy()
    log.info("stopped")
  }
}
