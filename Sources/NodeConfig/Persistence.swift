import Control
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Saves and loads the control state. A save is atomic: the state is written to a
/// temporary file beside the target, flushed to disk, and renamed over it, so a crash
/// leaves either the old or the new state, never a torn one.
public enum Persistence {
  public static func save(_ state: ControlState, to path: String) throws(ControlError) {
    let data = try encode(state)
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    let tmp = path + ".tmp.\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ControlError("io", "cannot write \(tmp): \(String(cString: strerror(errno)))") }
    let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
    close(fd)
    guard ok, rename(tmp, path) == 0 else {
      unlink(tmp)
      throw ControlError("io", "cannot save state to \(path): \(String(cString: strerror(errno)))")
    }
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
    if dfd >= 0 { fsync(dfd); close(dfd) }
  }

  /// The state file's bytes: sorted, indented JSON (diffable).
  public static func encode(_ state: ControlState) throws(ControlError) -> Data {
    do {
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      return try enc.encode(state)
    } catch { throw ControlError("internal", "cannot encode state: \(error)") }
  }

  /// The saved state, nil when there is none yet. Throws, naming the file and the object,
  /// when the file is unreadable, not a state, or a state that breaks a rule of the control
  /// protocol (`ControlState.validated`); the file is left as it is for the operator.
  public static func load(from path: String) throws(ControlError) -> ControlState? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let data = readFile(path) else { throw ControlError("io", "cannot read \(path): \(String(cString: strerror(errno)))") }
    return try decode(data, source: path)
  }

  /// A state file's contents, decoded and checked (`load` without the file).
  public static func decode(_ data: Data, source path: String) throws(ControlError) -> ControlState {
    let decoded: ControlState
    do { decoded = try StrictDecoding.decode(ControlState.self, from: data) } catch {
      throw ControlError("config", "state file \(path) is damaged: \(error)")
    }
    do { return try decoded.validated() } catch {
      throw ControlError("config", "state file \(path) is inconsistent: \(error.message)")
    }
  }

  /// The whole file, read with read(2) (FoundationEssentials' `contents(atPath:)` leaks its
  /// buffer for an empty file); nil with errno set when it cannot be read.
  static func readFile(_ path: String) -> Data? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out = Data()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = read(fd, &buf, buf.count)
      if n == 0 { return out }
      if n < 0 { if errno == EINTR { continue }; return nil }
      out.append(contentsOf: buf[0..<n])
    }
  }

  /// Removes `PATH.tmp.PID` files that a save interrupted by a crash or SIGKILL left
  /// behind. At start-up, before the first save; returns the names removed.
  @discardableResult
  public static func removeStaleTemporaries(of path: String) -> [String] {
    let dir = (path as NSString).deletingLastPathComponent
    let base = (path as NSString).lastPathComponent + ".tmp."
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
    var removed: [String] = []
    for name in names where name.hasPrefix(base) && name.dropFirst(base.count).allSatisfy(\.isNumber) {
      if unlink((dir as NSString).appendingPathComponent(name)) == 0 { removed.append(name) }
    }
    return removed
  }
}
