import ArgumentParser
import Control
import Dispatch
import Foundation
import IO
import Logging
import Pipeline
import Synchronization
import Tables

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
    nonisolated(unsafe) var worker = Worker(index: 0, tables: controller.tables)
    controller.nodeCounters = worker.graph.counters
    controller.learnRing = worker.learn
    let workerDone = DispatchSemaphore(value: 0)
    let idle = cfg.idleSleepMicroseconds
    let workerThread = Thread {
      worker.run(until: flag.stop, idleSleepMicroseconds: idle)
      workerDone.signal()
    }
    workerThread.name = "gannet-worker-0"
    workerThread.start()
    let serverThread = Thread { server.serve() }
    serverThread.name = "gannet-control"
    serverThread.start()
    log.info("running", metadata: ["node": "\(cfg.name)", "role": "\(cfg.role.rawValue)", "socket": "\(cfg.controlSocket)"])

    // The signal sources must outlive the wait: an optimized build would otherwise free
    // them at their last use, and SIGTERM (set to SIG_IGN above) would be lost.
    withExtendedLifetime(signals) { workerDone.wait() }
    server.stop()
    controller.shutdown()
    worker.destroy()
    log.info("stopped")
  }
}
