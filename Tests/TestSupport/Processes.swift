import Foundation

/// What a finished command returned.
public struct CommandError: Error, CustomStringConvertible {
  public let description: String
}

/// Runs a command to completion (through /usr/bin/env); returns its exit status and its
/// output (stdout, and stderr too unless `stderr` is false). With `check`, a non-zero
/// status throws with the output in the message.
@discardableResult
public func sh(_ args: [String], check: Bool = true, stderr: Bool = true) throws -> (status: Int32, out: String) {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  p.arguments = args
  let pipe = Pipe()
  p.standardOutput = pipe
  p.standardError = stderr ? pipe : FileHandle.nullDevice
  try p.runUnblocked()
  let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  p.waitUntilExit()
  if check && p.terminationStatus != 0 {
    throw CommandError(description: "\(args.joined(separator: " ")) failed (\(p.terminationStatus)): \(out)")
  }
  return (p.terminationStatus, out)
}

extension Process {
  /// `run()` with every signal unblocked in the child. The test runner's threads block all
  /// signals and a child inherits its spawning thread's mask, so without this a child never
  /// acts on SIGTERM or SIGINT (`terminate()` does nothing) nor on its own timers' signals.
  /// The calling thread's mask is cleared only around the spawn and restored after it.
  public func runUnblocked() throws {
    var none = sigset_t(), saved = sigset_t()
    sigemptyset(&none)
    pthread_sigmask(SIG_SETMASK, &none, &saved)
    defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
    try run()
  }
}

/// Tests that create namespaces, veths or raw sockets need root.
public var isRoot: Bool { geteuid() == 0 }

/// The path of one of the package's executables: they are built beside the test bundle.
public func executable(_ name: String) -> String {
  var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) && dir.path != "/" {
    dir = dir.deletingLastPathComponent()
  }
  return dir.appendingPathComponent(name).path
}

/// Polls `condition` every 100 ms until it holds; throws naming `what` when `seconds` pass
/// first. For end-to-end tests: wait for the state you need, never for a fixed time.
public func waitFor(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if try condition() { return }
    usleep(100_000)
  }
  if try condition() { return }
  throw CommandError(description: "timed out after \(seconds) s waiting for \(what)")
}

/// Starts `path` with `arguments` in the background, its stdout and stderr appended to the
/// file `log` (created when missing). For daemons the tests start and stop themselves.
public func startLogged(_ path: String, _ arguments: [String], log: String) throws -> Process {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: path)
  p.arguments = arguments
  if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
  guard let file = FileHandle(forWritingAtPath: log) else { throw CommandError(description: "cannot write \(log)") }
  file.seekToEndOfFile()
  p.standardOutput = file
  p.standardError = file
  try p.runUnblocked()
  return p
}
