import CPcapShim
import Control
import Foundation
import Pipeline
import Tables
import Wire

/// The control thread's side of capture and live trace: compiles the filters with libpcap,
/// arms the workers' `PacketTap`, empties their rings every tick into the pcap file (capture)
/// or the trace's records, and disarms when a capture has its frames or its time, or a
/// trace has recorded every packet it marked.
///
/// One capture and one trace at a time; starting one replaces the one before. Arming and
/// disarming follow `PacketTap`'s protocol: mode 0, wait for every worker's quiescent state,
/// change the settings, set the new mode.
///
/// Thread safety: control thread only.
final class TapController {
  let tap: PacketTap
  let qsbr: QSBR
  let workers: Int

  private struct Capture {
    var request: CaptureRequest
    var interface: Int
    var program: bpf_program?
    var rings: UnsafeMutablePointer<TapRing>
    var dead: OpaquePointer
    var dumper: OpaquePointer
    var written = 0
    var deadline: Date
  }
  private var capture: Capture?
  private var lastCapture = CaptureReply(state: "idle")

  private struct Trace {
    var request: TraceRequest
    var interface: Int
    var program: bpf_program?
    var rings: UnsafeMutablePointer<TapRing>
    var tables: UnsafeMutablePointer<UInt>
    var lastRecord = Date()
  }
  private var trace: Trace?
  private var traceRequest: TraceRequest?
  private var traceState = "idle"
  private var traceLost = 0
  /// The current trace's records, as the workers wrote them (at most `maxRecords`).
  private(set) var records: [TapRecord] = []
  static let maxRecords = 20_000
  static let captureRing = 2048, traceRing = 4096

  init(tap: PacketTap, qsbr: QSBR, workers: Int) {
    self.tap = tap
    self.qsbr = qsbr
    self.workers = workers
  }

  /// Compiles a libpcap filter for Ethernet frames; nil for no filter.
  static func compile(_ filter: String?) throws(ControlError) -> bpf_program? {
    guard let filter, !filter.isEmpty else { return nil }
    guard let dead = pcap_open_dead(DLT_EN10MB, 65535) else { throw ControlError("io", "pcap_open_dead failed") }
    defer { pcap_close(dead) }
    var prog = bpf_program()
    guard pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
      throw ControlError("bad-filter", "filter '\(filter)': \(String(cString: pcap_geterr(dead)))")
    }
    return prog
  }

  private func makeRings(_ capacity: Int, bytes: Int) -> UnsafeMutablePointer<TapRing> {
    let rings = UnsafeMutablePointer<TapRing>.allocate(capacity: workers)
    for w in 0..<workers { (rings + w).initialize(to: TapRing(capacity: capacity, dataBytes: bytes)) }
    return rings
  }

  private func freeRings(_ rings: UnsafeMutablePointer<TapRing>) {
    for w in 0..<workers { rings[w].destroy() }
    rings.deinitialize(count: workers)
    rings.deallocate()
  }

  /// Publishes the settings of the running capture and trace (see the type's comment).
  private func rearm() {
    tap.setMode(0)
    qsbr.synchronize()
    var s = PacketTap.Settings()
    var mode: UInt32 = 0
    if let c = capture {
      s.capturePort = c.interface
      s.captureRings = c.rings
      s.captureFilter = c.program?.bf_insns
      if c.request.direction != .tx { mode |= PacketTap.captureRX }
      if c.request.direction != .rx { mode |= PacketTap.captureTX }
    }
    if let t = trace {
      s.tracePort = t.interface
      s.traceRings = t.rings
      s.traceFilter = t.program?.bf_insns
      s.traceTables = t.tables
      mode |= PacketTap.trace
    }
    tap.settings.pointee = s
    tap.setMode(mode)
  }

  // MARK: - capture

  func startCapture(_ r: CaptureRequest, interface: Int) throws(ControlError) -> CaptureReply {
    var program = try Self.compile(r.filter)
    guard let dead = pcap_open_dead(DLT_EN10MB, 65535) else { throw ControlError("io", "pcap_open_dead failed") }
    guard let dumper = pcap_dump_open(dead, r.file) else {
      let e = String(cString: pcap_geterr(dead))
      pcap_close(dead)
      if program != nil { pcap_freecode(&program!) }
      throw ControlError("io", "cannot write \(r.file): \(e)")
    }
    if capture != nil { finishCapture("stopped") }
    capture = Capture(request: r, interface: interface, program: program, rings: makeRings(Self.captureRing, bytes: 2048), dead: dead,
                      dumper: dumper, deadline: Date().addingTimeInterval(Double(r.seconds)))
    rearm()
    return captureStatus()
  }

  func captureStatus() -> CaptureReply {
    guard let c = capture else { return lastCapture }
    return CaptureReply(state: "running", port: c.request.port, direction: c.request.direction.rawValue, filter: c.request.filter,
                        file: c.request.file, wanted: c.request.count, written: c.written, lost: (0..<workers).reduce(0) { $0 + c.rings[$1].lost })
  }

  /// Stops the capture: disarms, writes what the rings still hold (up to the count), closes
  /// the file.
  func finishCapture(_ state: String) {
    guard var c = capture else { return }
    capture = nil
    rearm()
    drain(&c)
    lastCapture = CaptureReply(state: state, port: c.request.port, direction: c.request.direction.rawValue, filter: c.request.filter,
                               file: c.request.file, wanted: c.request.count, written: c.written,
                               lost: (0..<workers).reduce(0) { $0 + c.rings[$1].lost })
    pcap_dump_close(c.dumper)
    pcap_close(c.dead)
    freeRings(c.rings)
    if c.program != nil { pcap_freecode(&c.program!) }
  }

  /// Writes the frames the workers copied, oldest first per worker, up to the count.
  private func drain(_ c: inout Capture) {
    for w in 0..<workers {
      let dumper = c.dumper
      var written = c.written
      let wanted = c.request.count
      c.rings[w].drain { r in
        guard written < wanted else { return }
        var h = pcap_pkthdr(ts: timeval(tv_sec: Int(r.time / 1_000_000_000), tv_usec: Int(r.time % 1_000_000_000 / 1000)),
                            caplen: UInt32(r.bytes.count), len: UInt32(r.wireLength))
        r.bytes.withUnsafeBufferPointer { pcap_dump(UnsafeMutablePointer<UInt8>(dumper), &h, $0.baseAddress) }
        written += 1
      }
      c.written = written
    }
    pcap_dump_flush(c.dumper)
  }

  // MARK: - trace

  func startTrace(_ r: TraceRequest, interface: Int) throws(ControlError) -> TraceReply {
    let program = try Self.compile(r.filter)
    if trace != nil { stopTrace("stopped") }
    records = []
    traceLost = 0
    let tables = UnsafeMutablePointer<UInt>.allocate(capacity: workers * (2 * PacketTap.inflight + 1))
    tables.initialize(repeating: 0, count: workers * (2 * PacketTap.inflight + 1))
    trace = Trace(request: r, interface: interface, program: program, rings: makeRings(Self.traceRing, bytes: PacketTap.traceBytes),
                  tables: tables)
    traceRequest = r
    traceState = "running"
    tap.setBudget(r.count)
    rearm()
    return TraceReply(state: traceState, port: r.port, filter: r.filter, wanted: r.count)
  }

  func stopTrace(_ state: String) {
    guard var t = trace else { return }
    trace = nil
    rearm()
    drain(&t)
    traceLost += (0..<workers).reduce(0) { $0 + t.rings[$1].lost }
    freeRings(t.rings)
    t.tables.deallocate()
    if t.program != nil { pcap_freecode(&t.program!) }
    traceState = state
  }

  private func drain(_ t: inout Trace) {
    var got = false
    for w in 0..<workers {
      t.rings[w].drain { r in
        got = true
        if records.count < Self.maxRecords { records.append(r) } else { traceLost += 1 }
      }
    }
    if got { t.lastRecord = Date() }
  }

  /// The trace's state and what it recorded so far.
  func traceStatus() -> (state: String, request: TraceRequest?, lost: Int) {
    if var t = trace {
      drain(&t)
      trace = t
    }
    return (traceState, traceRequest, traceLost + (trace.map { t in (0..<workers).reduce(0) { $0 + t.rings[$1].lost } } ?? 0))
  }

  // MARK: - housekeeping

  /// Every control tick: write captured frames, keep trace records, and finish what is done.
  func tick(now: Date) {
    if var c = capture {
      drain(&c)
      capture = c
      if c.written >= c.request.count { finishCapture("done") } else if now >= c.deadline { finishCapture("timed-out") }
    }
    if var t = trace {
      drain(&t)
      trace = t
      // Every packet marked, and nothing recorded for a second: the marked ones are through.
      if tap.remainingBudget == 0 && now.timeIntervalSince(t.lastRecord) > 1 { stopTrace("done") }
    }
  }

  /// Disarms and frees everything. Control thread, before the workers are destroyed.
  func shutdown() {
    finishCapture("stopped")
    stopTrace("stopped")
  }
}
