import Control
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Saves and loads the control state. A save is atomic: the state is written to a
/// temporary file beside the target, flushed to disk, and renamed over it, so a crash
/// leaves either the old or the new state, never a torn one.
enum Persistence {
  static func save(_ state: ControlState, to path: String) throws(ControlError) {
    let data: Data
    do {
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      data = try enc.encode(state)
    } catch { throw ControlError("internal", "cannot encode state: \(error)") }
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

  /// The saved state, nil when there is none yet; throws when the file is unreadable.
  static func load(from path: String) throws(ControlError) -> ControlState? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let data = FileManager.default.contents(atPath: path) else { throw ControlError("io", "cannot read \(path)") }
    do { return try JSONDecoder().decode(ControlState.self, from: data) } catch {
      throw ControlError("config", "state file \(path) is damaged: \(error)")
    }
  }
}
