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
/// Thread safety: one server thread accepts connections and serves them one at a time,
/// so requests are applied in order and never concurrently. A client that sends nothing
/// for 10 s, or a line over 1 MiB, is answered with an error and disconnected.
final class ControlServer: @unchecked Sendable {
  static let maxLine = 1 << 20
  let path: String
  let controller: DataplaneController
  let log: Logger
  private var listenFD: Int32 = -1

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
    while true {
      var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
      let ready = poll(&pfd, 1, 200)
      controller.tick()
      if ready == 0 || (ready < 0 && errno == EINTR) { continue }
      if ready < 0 || pfd.revents & Int16(POLLNVAL | POLLERR | POLLHUP) != 0 { return }
      let c = accept(listenFD, nil, nil)
      if c < 0 {
        if errno == EINTR { continue }
        return    // listening socket closed: shutting down
      }
      var tv = timeval(tv_sec: 10, tv_usec: 0)
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
      serveConnection(c)
      close(c)
    }
  }

  func stop() {
    shutdown(listenFD, Int32(SHUT_RDWR))
    close(listenFD)
    unlink(path)
  }

  private func serveConnection(_ fd: Int32) {
    var pending = Data()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
      while let nl = pending.firstIndex(of: 0x0a) {
        let line = pending[pending.startIndex..<nl]
        pending = Data(pending[(nl + 1)...])
        if !line.isEmpty && !reply(fd, handle(Data(line))) { return }
      }
      if pending.count > Self.maxLine {
        _ = reply(fd, failure(.bad("request line longer than \(Self.maxLine) bytes")))
        return
      }
      let n = read(fd, &buf, buf.count)
      if n <= 0 {
        if !pending.isEmpty { _ = reply(fd, handle(pending)) }   // last line without newline
        return
      }
      pending.append(contentsOf: buf[0..<n])
    }
  }

  /// One request in, one response out. Never throws: every failure is a coded error.
  func handle(_ line: Data) -> [String: Any] {
    do {
      let r = try ControlRequest.parse(line)
      if case .show(let what) = r {
        return ["version": ControlProtocol.version, "ok": true, "result": controller.show(what)]
      }
      if case .showSessions(let filter) = r {
        return ["version": ControlProtocol.version, "ok": true, "result": try controller.showSessions(filter)]
      }
      try controller.commit(r)
      return ["version": ControlProtocol.version, "ok": true, "result": ["generation": controller.state.generation]]
    } catch {
      if error.code != "bad-request" && error.code != "unknown-op" { log.warning("request refused: \(error)") }
      return failure(error)
    }
  }

  private func failure(_ e: ControlError) -> [String: Any] {
    ["version": ControlProtocol.version, "ok": false, "error": ["code": e.code, "message": e.message]]
  }

  private func reply(_ fd: Int32, _ obj: [String: Any]) -> Bool {
    guard var data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) else { return false }
    data.append(0x0a)
    return data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == data.count
  }
}
