import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A client of gannetd's control socket: one request per line, one response per line.
/// Used by gannetctl and the tests; any controller can do the same with its own code.
public struct ControlClient: Sendable {
  public let path: String
  public init(path: String) { self.path = path }

  /// Sends one request object and returns the response object.
  public func send(_ request: [String: Any], timeoutSeconds: Int = 30) throws(ControlError) -> [String: Any] {
    let line: Data
    do { line = try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys]) } catch {
      throw .bad("cannot encode request: \(error)")
    }
    return try sendRaw(line, timeoutSeconds: timeoutSeconds)
  }

  /// Sends raw bytes as one request line (tests use it for malformed input).
  public func sendRaw(_ line: Data, timeoutSeconds: Int = 30) throws(ControlError) -> [String: Any] {
    let body = try exchange(line, timeoutSeconds: timeoutSeconds)
    guard let obj = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
      throw ControlError("io", "gannetd sent a reply that is not a JSON object")
    }
    return obj
  }

  /// Sends one request line and returns the reply line (without its newline).
  public func exchange(_ line: Data, timeoutSeconds: Int = 30) throws(ControlError) -> Data {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ControlError("io", "socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw .bad("socket path too long: \(path)") }
    withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes + [0]) }
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0 else { throw ControlError("io", "cannot connect to \(path): \(String(cString: strerror(errno))) (is gannetd running?)") }
    var out = line
    out.append(0x0a)
    let written = out.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == out.count else { throw ControlError("io", "write to \(path) failed") }
    var reply = Data()
    var buf = [UInt8](repeating: 0, count: 65536)
    while !reply.contains(0x0a) {
      let n = read(fd, &buf, buf.count)
      if n <= 0 { throw ControlError("io", "gannetd closed the connection without a reply") }
      reply.append(contentsOf: buf[0..<n])
    }
    return reply.prefix(upTo: reply.firstIndex(of: 0x0a)!)
  }

  /// Sends a typed request; returns `result` on success, throws the daemon's error otherwise.
  public func call(_ r: ControlRequest) throws(ControlError) -> Any {
    let reply = try send(r.json())
    if reply["ok"] as? Bool == true { return reply["result"] ?? [String: Any]() }
    let e = reply["error"] as? [String: Any]
    throw ControlError(e?["code"] as? String ?? "internal", e?["message"] as? String ?? "no message")
  }

  /// Sends a typed request and decodes its typed result; also returns the reply line as
  /// received (for `--json`). Throws the daemon's error, or `io` when the reply is not a `R`.
  /// `timeoutSeconds`: how long gannetd may take to answer (a cloud agent's program of
  /// 100,000 ports takes a minute to commit).
  public func call<R: Decodable>(_ r: ControlRequest, as: R.Type, timeoutSeconds: Int = 30) throws(ControlError) -> (result: R, reply: Data) {
    let line: Data
    do { line = try r.wireLine() } catch {
      throw .bad("cannot encode request: \(error)")
    }
    let reply = try exchange(line, timeoutSeconds: timeoutSeconds)
    let decoded: ControlReply<R>
    do { decoded = try JSONDecoder().decode(ControlReply<R>.self, from: reply) } catch {
      throw ControlError("io", "gannetd's reply does not match this gannetctl's protocol: \(error)")
    }
    if let e = decoded.error { throw ControlError(e.code, e.message) }
    guard decoded.ok, let result = decoded.result else { throw ControlError("io", "gannetd's reply has no result") }
    return (result, reply)
  }
}
