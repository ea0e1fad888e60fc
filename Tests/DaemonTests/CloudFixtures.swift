import Control
import Foundation
import TestSupport
import Testing

/// Debian's etcd-server, one member on loopback ports of its own, in a temporary data
/// directory; `stop` and `start` again keep the data (a restarted member).
final class EtcdServer: @unchecked Sendable {
  let dir: String
  let clientPort = Int.random(in: 20_000..<40_000)
  var peerPort: Int { clientPort + 1 }
  var url: String { "http://127.0.0.1:\(clientPort)" }
  private var process: Process?

  static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") && FileManager.default.isExecutableFile(atPath: "/usr/bin/etcdctl") }

  init() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("gannet-etcd-\(clientPort)").path
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try start()
  }

  func start() throws {
    let peer = "http://127.0.0.1:\(peerPort)"
    process = try startLogged("/usr/bin/etcd", ["--name", "gannet", "--data-dir", "\(dir)/data", "--listen-client-urls", url,
                                                "--advertise-client-urls", url, "--listen-peer-urls", peer,
                                                "--initial-advertise-peer-urls", peer, "--initial-cluster", "gannet=\(peer)"],
                              log: "\(dir)/etcd.log")
    try waitFor("etcd at \(url) to answer", seconds: 20) { try ctl(["endpoint", "health"], check: false).status == 0 }
  }

  func stop() {
    guard let p = process, p.isRunning else { return }
    p.terminate()
    p.waitUntilExit()
    process = nil
  }

  /// etcdctl against this member.
  @discardableResult
  func ctl(_ args: [String], check: Bool = true) throws -> (status: Int32, out: String) {
    try sh(["timeout", "-s", "KILL", "10", "etcdctl", "--endpoints", url] + args, check: check)
  }

  /// The store's current revision.
  func revision() throws -> Int {
    let out = try ctl(["get", "/", "--prefix", "--keys-only", "--limit", "1", "-w", "json"]).out
    let o = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
    return ((o?["header"] as? [String: Any])?["revision"] as? Int) ?? 0
  }

  func destroy() {
    stop()
    try? FileManager.default.removeItem(atPath: dir)
  }
}

/// A node's gannet-agent, in the root namespace (it needs only gannetd's socket and etcd).
final class AgentProcess: @unchecked Sendable {
  let node: TestCloud
  let etcd: String
  var logFile: String { "\(node.dir)/agent.log" }
  private(set) var process: Process?

  init(_ node: TestCloud, etcd: String) throws {
    self.node = node
    self.etcd = etcd
    try start()
  }

  func start() throws {
    process = try startLogged(executable("gannet-agent"), ["--etcd", etcd, "--socket", node.socket, "--lease-ttl", "3"], log: logFile)
  }

  func signal(_ s: Int32) { if let p = process, p.isRunning { kill(p.processIdentifier, s) } }

  func stop(kill: Bool = false) {
    guard let p = process, p.isRunning else { return }
    if kill { Foundation.kill(p.processIdentifier, SIGKILL) } else { p.terminate() }
    p.waitUntilExit()
    process = nil
  }

  func log() -> String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

  /// The agent's status as gannetd shows it.
  func status() throws -> [String: Any] {
    (try node.json(["show", "node"])["agent"] as? [String: Any]) ?? [:]
  }
}

extension TestCloud {
  /// Moves a VM's host-side interface `i` (see `vm(_:)`) from this node's host namespace
  /// into `other`'s (the VM restarted or migrated there: Nova plugs the VIF on the new node
  /// before the port is re-bound).
  func moveInterface(_ i: String, to other: TestCloud) throws {
    try sh(["ip", "-n", host, "link", "set", i, "netns", other.host])
    try sh(["ip", "-n", other.host, "link", "set", i, "up"])
  }
}
