import Synchronization
import Control
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The control socket: a Unix stream socket (mode 0600) carrying one JSON request per
/// line and one JSON response per line:
///
///     → {"version": 1, "op": "port.create", "args": {...}}
///     ← {"version": 1, "ok": true, "result": {...}}
///     ← {"version": 1, "ok": false, "error": {"code": "conflict", "message": "MAC … is already used by port …"}}
///
/// Thread safety: one server thread runs an event loop (poll(2)) over the listening socket
/// and every client, non-blocking, so many clients are served at once while requests are
/// still applied one at a time, in the order their lines complete. A client is never able
/// to hold up another: a line left unfinished for `partialLineTimeout`, a reply left
/// unread for as long, a connection idle for `idleTimeout`, or a line over `maxLine` bytes
/// is answered with an error (where it can be) and the connection closed. Replies are
/// sent with MSG_NOSIGNAL, so a client that hangs up never raises SIGPIPE.
final class ControlServer: @unchecked Sendable {
  static let maxLine = 64 << 20   // a cloud agent's state.replace of 100,000 ports is ~25 MB
  static let maxClients = 64
  static let partialLineTimeout: Double = 10
  static let idleTimeout: Double = 300
  let path: String
  let controller: DataplaneController
  let log: Logger
  private var listenFD: Int32 = -1

  /// One client: bytes received and not yet parsed, the reply bytes not yet sent.
  private final class Client {
    let fd: Int32
    var input: [UInt8] = []
    /// `input[..<scanned]` holds no newline (so each byte is searched once).
    var scanned = 0
    var output: [UInt8] = []
    var sent = 0
    /// When the connection last made progress (a complete line, or a reply byte sent).
    var lastProgress: Double
    /// Close once `output` is sent.
    var closing = false
    init(fd: Int32, now: Double) { self.fd = fd; lastProgress = now }
    var hasOutput: Bool { sent < output.count }
  }
  private var clients: [Client] = []

  init(path: String, controller: DataplaneController, log: Logger) {
    self.path = path
    self.controller = controller
    self.log = log
  }

  /// Creates the socket. Refuses when another daemon answers on the same path.
  func bind() throws(ControlError) {
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    if FileManager.default.fileExists(atPath: path) {
      if (try? ControlClient(path: path).send(ControlRequest.show(.node).json(), timeoutSeconds: 2)) != nil {
        throw ControlError("config", "another gannetd answers on \(path)")
      }
      unlink(path)
    }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw ControlError("io", "socket: \(String(cString: strerror(errno)))") }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(fd); throw .bad("control_socket path too long: \(path)") }
    withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes + [0]) }
    let old = umask(0o177)      // the socket file is created 0600
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    umask(old)
    guard rc == 0, listen(fd, 16) == 0 else {
      let e = String(cString: strerror(errno))
      close(fd)
      throw ControlError("io", "cannot listen on \(path): \(e)")
    }
    chmod(path, 0o600)
    listenFD = fd
  }

  /// Serves until `stop()`, and calls the controller's `tick` every 200 ms in between
  /// (on this same thread, so it never races a request). Run on its own thread.
  func serve() {
    defer { closeAll(); served.signal() }
    var lastTick = Self.now()
    while !stopping.load(ordering: .acquiring) {
      var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
      for c in clients {
        let events = c.hasOutput ? POLLOUT : (c.closing ? 0 : POLLIN)
        fds.append(pollfd(fd: c.fd, events: Int16(events), revents: 0))
      }
      let ready = poll(&fds, nfds_t(fds.count), 200)
      let now = Self.now()
      if now - lastTick >= 0.2 || ready == 0 {
        controller.tick()
        lastTick = now
      }
      if ready < 0 && errno != EINTR { return }
      if ready > 0 {
        if fds[0].revents & Int16(POLLNVAL | POLLERR | POLLHUP) != 0 { return }   // the listening socket failed
        if fds[0].revents & Int16(POLLIN) != 0 { acceptClient(now: now) }
        for (i, c) in zip(fds.indices.dropFirst(), clients) {
          let ev = fds[i].revents
          if ev & Int16(POLLOUT) != 0 { flush(c, now: now) }
          if ev & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !c.hasOutput && !c.closing { receive(c, now: now) }
          if ev & Int16(POLLNVAL) != 0 { c.closing = true; c.output = []; c.sent = 0 }
        }
      }
      expire(now: now)
      clients.removeAll { c in
        guard c.closing && !c.hasOutput else { return false }
        close(c.fd)
        return true
      }
    }
  }

  /// Stops serving and waits (up to 5 s) until `serve` returned: after this the controller
  /// is no longer called from the server thread (no `tick` races the daemon's shutdown, which
  /// frees what `tick` reads). The server thread sees the flag within one poll timeout
  /// (200 ms), or after the request it is applying; the listening socket is closed only once
  /// it returned, so its descriptor is never reused under a running poll.
  func stop() {
    stopping.store(true, ordering: .releasing)
    if served.wait(timeout: .now() + 5) == .timedOut { log.warning("the control thread did not stop within 5 s") }
    shutdown(listenFD, Int32(SHUT_RDWR))
    close(listenFD)
    unlink(path)
  }
  private let served = DispatchSemaphore(value: 0)
  private let stopping = Atomic<Bool>(false)

  private static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  private func closeAll() {
    for c in clients { close(c.fd) }
    clients = []
  }

  private func acceptClient(now: Double) {
    let fd = accept(listenFD, nil, nil)
    guard fd >= 0 else { return }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    let c = Client(fd: fd, now: now)
    clients.append(c)
    if clients.count > Self.maxClients {
      queue(c, failure(ControlError("io", "too many control clients (\(Self.maxClients)); try again")))
      c.closing = true
      flush(c, now: now)
    }
  }

  /// Reads what the client sent and answers every complete line, in order.
  private func receive(_ c: Client, now: Double) {
    var buf = [UInt8](repeating: 0, count: 65536)
    let n = read(c.fd, &buf, buf.count)
    if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
    if n <= 0 {
      // End of input: a last line without a newline still gets its answer.
      if c.input.contains(where: { $0 != 0x0a && $0 != 0x0d && $0 != 0x20 }) { queue(c, handle(Data(c.input))) }
      c.input = []
      c.closing = true
      flush(c, now: now)
      return
    }
    c.input.append(contentsOf: buf[0..<n])
    var start = 0
    var i = c.scanned
    while i < c.input.count {
      if c.input[i] == 0x0a {
        if i > start { queue(c, handle(Data(c.input[start..<i]))) }
        start = i + 1
        c.lastProgress = now
      }
      i += 1
    }
    if start > 0 { c.input.removeFirst(start) }     // once per read, not per line
    c.scanned = c.input.count
    if c.input.count > Self.maxLine {
      queue(c, failure(.bad("request line longer than \(Self.maxLine) bytes")))
      c.input = []
      c.closing = true
    }
    flush(c, now: now)
  }

  private func queue(_ c: Client, _ reply: Data) {
    var data = reply
    data.append(0x0a)
    if c.sent == c.output.count { c.output = []; c.sent = 0 }
    c.output.append(contentsOf: data)
  }

  /// Sends as much of the pending reply as the socket takes, without blocking.
  private func flush(_ c: Client, now: Double) {
    while c.hasOutput {
      let n = c.output.withUnsafeBytes { send(c.fd, $0.baseAddress! + c.sent, $0.count - c.sent, Int32(MSG_NOSIGNAL)) }
      if n > 0 {
        c.sent += n
        c.lastProgress = now
        continue
      }
      if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
      // The client went away: drop its replies and its connection.
      c.output = []
      c.sent = 0
      c.closing = true
      return
    }
  }

  /// Closes clients that stopped making progress: a half-sent line or an unread reply
  /// for `partialLineTimeout`, nothing at all for `idleTimeout`.
  private func expire(now: Double) {
    for c in clients where !c.closing || c.hasOutput {
      let idle = now - c.lastProgress
      if c.hasOutput {
        if idle > Self.partialLineTimeout { c.output = []; c.sent = 0; c.closing = true }
      } else if !c.input.isEmpty, idle > Self.partialLineTimeout {
        queue(c, failure(.bad("request line incomplete after \(Int(Self.partialLineTimeout)) s")))
        c.input = []
        c.closing = true
        flush(c, now: now)
      } else if idle > Self.idleTimeout {
        c.closing = true
      }
    }
  }

  /// One request in, one response out (the encoded reply line). Never throws: every failure
  /// is a coded error.
  func handle(_ line: Data) -> Data {
    do {
      let r = try ControlRequest.parse(line)
      if case .show(let what) = r { return encode(ControlReply(result: controller.show(what))) }
      if case .showSessions(let filter) = r { return encode(ControlReply(result: ShowReply.sessions(try controller.showSessions(filter)))) }
      if case .showConntrack(let filter) = r { return encode(ControlReply(result: try controller.conntrack(filter, flush: false))) }
      if case .conntrackFlush(let filter) = r { return encode(ControlReply(result: try controller.conntrack(filter, flush: true))) }
      switch r {
      case .captureStart, .captureStatus, .captureStop, .traceStart, .traceShow, .traceStop, .tracePacket:
        return encode(try controller.observeReply(r))
      case .dumpFlows(let f): return encode(ControlReply(result: try controller.dumpFlows(f)))
      case .agentReport(let status):
        controller.report(status)
        return encode(ControlReply(result: ChangeReply(generation: controller.state.generation)))
      default: break
      }
      try controller.commit(r)
      return encode(ControlReply(result: ChangeReply(generation: controller.state.generation)))
    } catch {
      if error.code != "bad-request" && error.code != "unknown-op" { log.warning("request refused: \(error)") }
      return failure(error)
    }
  }

  private func failure(_ e: ControlError) -> Data { encode(ControlReply<ChangeReply>(error: e)) }

  private func encode(_ reply: some Encodable) -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do { return try enc.encode(reply) } catch {
      return Data(#"{"error":{"code":"internal","message":"reply cannot be encoded"},"ok":false,"version":1}"#.utf8)
    }
  }
}
