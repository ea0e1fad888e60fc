import ArgumentParser
import Control
import Dispatch
import Foundation
import IO
import NodeConfig
import Logging
import Pipeline
import Synchronization
import Tables
import CNumaShim
import CDPDKShim

/// Set by SIGTERM/SIGINT; the worker polls it between rounds.
final class StopFlag: Sendable {
  let stop = Atomic<Bool>(false)
}

@main
struct Gannetd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gannetd",
    abstract: "Gannet data-plane daemon: poll-mode workers, programmed through a control socket.",
    discussion: """
      The config file names the node (name, role, tunnel IP, DVR host MAC) and the daemon's
      settings; networks and ports come through the control socket (gannetctl) and are saved in
      the state file on every committed change, so a restart restores them.
      Example:
        gannetd --config /etc/gannet/gannetd.json
      """)

  @Option(help: "Configuration file (JSON).") var config: String
  @Option(help: "Override the config's control_socket.") var socket: String?
  @Option(help: "Override the config's state_file.") var stateFile: String?

  func run() throws {
    // A peer that hangs up (a control client, a closed log pipe) must end a write with
    // EPIPE, never the process.
    signal(SIGPIPE, SIG_IGN)
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var log = Logger(label: "gannetd")
    log.logLevel = .info
    var cfg: DaemonConfig
    do { cfg = try DaemonConfig.load(path: config) } catch {
      log.critical("bad config: \(error.message)")
      throw ExitCode(2)
    }
    if let socket { cfg.controlSocket = socket }
    if let stateFile { cfg.stateFile = stateFile }

    var pool: OpaquePointer? = nil
    var memoryMode = "none"
    if cfg.dpdkEnabled {
      let mode = DPDK.detectMemoryMode()
      memoryMode = mode.rawValue
      try DPDK.initialize(arguments: DPDK.ealArguments(lcores: "0", mode: mode, memoryMB: cfg.dpdkMemoryMB))
      pool = try DPDK.createPool(name: "gannetd", count: 16384)
      log.info("DPDK initialized", metadata: ["memory": "\(memoryMode)"])
    }
    let controller = DataplaneController(config: cfg, log: log, mbufPool: pool, memoryMode: memoryMode)
    do { try controller.attachUnderlay() } catch {
      log.critical("cannot attach the underlay: \(error.message)")
      throw ExitCode(2)
    }
    do { try controller.attachUplink() } catch {
      log.critical("cannot attach the uplink: \(error.message)")
      throw ExitCode(2)
    }
    do { try controller.restore() } catch {
      log.critical("cannot restore state: \(error.message)")
      throw ExitCode(2)
    }
    let server = ControlServer(path: cfg.controlSocket, controller: controller, log: log)
    do { try server.bind() } catch {
      log.critical("\(error.message)")
      throw ExitCode(2)
    }

    let flag = StopFlag()
    let signals = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
      signal(sig, SIG_IGN)
      let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      src.setEventHandler { flag.stop.store(true, ordering: .relaxed) }
      src.resume()
      return src
    }
    // One poll-mode worker per configured core; each owns its graph, pool and TX queues.
    // Each thread touches only its own slot of this buffer (a Swift array mutated from
    // several threads would share its storage).
    nonisolated(unsafe) let workers = UnsafeMutablePointer<Worker>.allocate(capacity: cfg.workers)
    for w in 0..<cfg.workers { (workers + w).initialize(to: Worker(index: w, tables: controller.tables, sessions: controller.sessions.tables[w],
                                                                         handoff: controller.sessions.handoff, conntrack: controller.conntrack,
                                                                         tap: controller.taps.tap)) }
    controller.nodeCounters = (0..<cfg.workers).map { workers[$0].graph.counters }
    controller.runtimeCounters = (0..<cfg.workers).map { (workers[$0].runtime, workers[$0].startTSC) }
    controller.eventRings = (0..<cfg.workers).map { workers[$0].events }
    controller.tunnelCounters = (0..<cfg.workers).map { workers[$0].graph.tunnelCounters }
    controller.aclCounters = (0..<cfg.workers).map { workers[$0].graph.aclCounters }
    controller.flowCounters = (0..<cfg.workers).map { workers[$0].graph.flowHits }
    let workerLog = log
    let workerDone = DispatchSemaphore(value: 0)
    let idle = cfg.idleSleepMicroseconds
    let dpdk = cfg.dpdkEnabled
    for w in 0..<cfg.workers {
      let cpu = cfg.cores?[w]
      let thread = Thread {
        if let cpu, cnuma_pin_current_thread(Int32(cpu)) != 0 { workerLog.warning("worker \(w): cannot pin to CPU \(cpu)") }
        // With DPDK: an lcore id of its own, so its mbuf allocations and frees use a mempool
        // cache instead of contending with the other workers for the pool's ring.
        if dpdk && !DPDK.registerThread() { workerLog.warning("worker \(w): no DPDK lcore id left; mbufs without a per-worker cache") }
        (workers + w).pointee.run(until: flag.stop, idleSleepMicroseconds: idle)
        if dpdk { DPDK.unregisterThread() }
        workerDone.signal()
      }
      thread.name = "gannet-worker-\(w)"
      thread.start()
    }
    let serverThread = Thread { server.serve() }
    serverThread.name = "gannet-control"
    serverThread.start()
    // The Prometheus endpoint: a client of the control socket, on SwiftNIO's threads.
    let metrics = cfg.metricsListen.map { MetricsExporter(socket: cfg.controlSocket, host: $0.host, port: $0.port).start(log: log) }
    if let m = cfg.metricsListen { log.info("metrics endpoint", metadata: ["listen": "http://\(m.host):\(m.port)/metrics"]) }
    log.info("running", metadata: ["node": "\(cfg.name)", "role": "\(cfg.role.rawValue)", "socket": "\(cfg.controlSocket)"])

    // The signal sources must outlive the wait: an optimized build would otherwise free
    // them at their last use, and SIGTERM (set to SIG_IGN above) would be lost.
    withExtendedLifetime(signals) { for _ in 0..<cfg.workers { workerDone.wait() } }
    metrics?.cancel()
    server.stop()
    controller.shutdown()
    for w in 0..<cfg.workers { workers[w].destroy() }
    controller.sessions.destroy { cdpdk_mbuf_free($0.mbuf) }
    controller.conntrack.destroy()
    controller.taps.tap.destroy()
    workers.deinitialize(count: cfg.workers)
    workers.deallocate()
    log.info("stopped")
  }
}
