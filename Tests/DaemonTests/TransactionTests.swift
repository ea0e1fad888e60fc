import Control
import Foundation
import TestSupport
import Testing

/// A change is all-or-nothing (issue 13): when persisting, opening a port or compiling
/// fails, the state, the generations, the tunnels, the open interfaces and forwarding are
/// exactly as before, and the same change succeeds once the cause is gone.
@Suite(.serialized, .enabled(if: isRoot, "runs gannetd in network namespaces: needs root"))
struct TransactionTests {
  /// What must not change when a commit fails.
  struct Observed: Equatable {
    var state: String
    var generation: Int
    var published: Int
    var tunnels: [String]
    var ports: [String]
  }

  func observe(_ c: TestCloud) throws -> Observed {
    let node = try #require(try c.show("node") as? [String: Any])
    let tunnels = (try c.show("tunnels") as? [[String: Any]] ?? []).map { "\($0["remote"] ?? "?") #\($0["index"] ?? "?")" }
    let counters = try #require(try c.show("counters") as? [String: Any])
    let ports = (counters["ports"] as? [[String: Any]] ?? []).map { "\($0["port"] ?? "?") \($0["interface"] ?? "?")" }
    return Observed(state: try c.ctl("show state"), generation: node["generation"] as? Int ?? -1,
                    published: node["published_generation"] as? Int ?? -1, tunnels: tunnels, ports: ports)
  }

  @Test func aFailedPersistAPortThatCannotOpenAndACompileErrorChangeNothing() throws {
    let c = try TestCloud(underlay: true, stateDirectory: "state")
    let peer = "gnP\(c.tag)"
    try sh(["ip", "netns", "add", peer])
    defer {
      c.destroy()
      _ = try? sh(["ip", "netns", "del", peer], check: false)
    }
    try c.connectUnderlay(toNamespace: peer)
    try c.addVM("a1", mac: "fa:16:3e:01:00:0a", ip: "10.1.0.10")
    try c.addVM("a2", mac: "fa:16:3e:01:00:0b", ip: "10.1.0.11")
    try c.addVM("a3", mac: "fa:16:3e:01:00:0c", ip: "10.1.0.12")
    try c.start()
    try c.ctl("network create net-1 --tenant t --vni 101")
    try c.ctl("port create a1 --network net-1 --mac fa:16:3e:01:00:0a --ip 10.1.0.10 --local \(c.spec("a1"))")
    try c.ctl("port create a2 --network net-1 --mac fa:16:3e:01:00:0b --ip 10.1.0.11 --local \(c.spec("a2"))")
    try c.ctl("port create r1 --network net-1 --mac fa:16:3e:01:00:14 --ip 10.1.0.20 --remote 192.0.2.12")
    #expect(try c.ping(from: "a1", "10.1.0.11"))
    let before = try observe(c)
    #expect(before.tunnels == ["192.0.2.12 #0"], "\(before.tunnels)")

    // 1. The state directory cannot be written (a regular file where it should be).
    let stateDir = c.dir + "/state"
    try FileManager.default.removeItem(atPath: stateDir)
    FileManager.default.createFile(atPath: stateDir, contents: Data("not a directory".utf8))
    let newTunnel = "port create r2 --network net-1 --mac fa:16:3e:01:00:15 --ip 10.1.0.21 --remote 192.0.2.13"
    let newPort = "port create a3 --network net-1 --mac fa:16:3e:01:00:0c --ip 10.1.0.12 --local \(c.spec("a3"))"
    for change in [newTunnel, newPort] {
      let refused = try c.ctl(change, check: false)
      #expect(refused.contains("cannot write") || refused.contains("cannot save"), "\(refused)")
      #expect(try observe(c) == before, "after '\(change)' failed to persist")
    }
    #expect(try c.ping(from: "a1", "10.1.0.11"), "forwarding after failed commits")

    // 2. A batch whose last port cannot open: the batch's other new port is closed again.
    let batch = [
      ["op": "port.create", "args": ["id": "a3", "network": "net-1", "mac": "fa:16:3e:01:00:0c", "fixed_ips": ["10.1.0.12"], "local": c.spec("a3")]],
      ["op": "port.create", "args": ["id": "x1", "network": "net-1", "mac": "fa:16:3e:01:00:0d", "local": "af-packet:nosuch\(c.tag)"]],
    ]
    let reply = try ControlClient(path: c.socket).send(["version": 1, "op": "batch", "args": ["requests": batch]])
    #expect(reply["ok"] as? Bool == false, "\(reply)")
    #expect(try observe(c) == before, "after a batch with a port that cannot open")

    // 3. A compile error: more tunnels than a node has (4096), one batch of remote ports.
    let many: [[String: Any]] = (0...4096).map { i in
      ["op": "port.create", "args": ["id": "m\(i)", "network": "net-1", "mac": String(format: "fa:16:3e:10:%02x:%02x", i >> 8, i & 0xff),
                                     "remote": "10.200.\(i / 250).\(i % 250 + 1)"]]
    }
    let tooMany = try ControlClient(path: c.socket).send(["version": 1, "op": "batch", "args": ["requests": many]], timeoutSeconds: 120)
    #expect(tooMany["ok"] as? Bool == false && "\(tooMany)".contains("more than 4096 tunnels"), "\(String(describing: tooMany["error"]))")
    #expect(try observe(c) == before, "after a compile error")
    #expect(try c.ping(from: "a1", "10.1.0.11"))

    // The cause gone, the same changes commit; the new tunnel takes the next index.
    try FileManager.default.removeItem(atPath: stateDir)
    try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
    try c.ctl(newTunnel)
    try c.ctl(newPort)
    let after = try observe(c)
    #expect(after.tunnels == ["192.0.2.12 #0", "192.0.2.13 #1"], "\(after.tunnels)")
    #expect(after.generation == before.generation + 2)
    #expect(try c.ping(from: "a3", "10.1.0.10"))
  }
}
