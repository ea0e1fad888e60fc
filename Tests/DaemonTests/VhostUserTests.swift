import Foundation
import TestSupport
import Testing

/// vhost-user ports (issue 18), end to end: gannetd on DPDK serves a VM port over
/// vhost-user; the guest is DPDK's virtio-user in a second process — `gannet-io bridge`,
/// whose other side is a veth into a network namespace, so the namespace's kernel is the
/// guest's network stack (ping and TCP are the kernel's own). Both socket roles: gannetd
/// the server (`vhost-user:`), and gannetd the client of a guest that is the server
/// (`vhost-user-client:`, as QEMU with `server=on`), which gannetd reconnects to. gannetd
/// and the guest sleep when idle: they share the machine with the other suites.
@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct VhostUserTests {
  /// The guest's virtio-user process, in gannetd's namespace (it opens the veth there).
  final class Guest {
    let process = Process()
    let output = Pipe()
    init(_ c: TestCloud, socket: String, kernelSide: String, server: Bool) throws {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = ["timeout", "-s", "KILL", "120", "ip", "netns", "exec", c.host, executable("gannet-io"), "bridge",
                           "--port", "dpdk:net_virtio_user0,path=\(socket),server=\(server ? 1 : 0),queues=1",
                           "--peer", "af-packet:\(kernelSide)"]
      process.standardOutput = output
      process.standardError = output
      try process.run()
    }
    func kill() {
      guard process.isRunning else { return }
      // `timeout` runs gannet-io as its child: kill the whole group it leads.
      _ = try? sh(["pkill", "-KILL", "-P", "\(process.processIdentifier)"], check: false)
      Foundation.kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    var log: String { String(decoding: output.fileHandleForReading.availableData, as: UTF8.self) }
  }

  /// One ping, answered within a second.
  static func reaches(_ ns: String, _ ip: String) throws -> Bool {
    try sh(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", "-q", ip], check: false).status == 0
  }

  /// VMs a (10.0.0.1) and b (10.0.0.2) on network n, and the namespace of the guest's kernel
  /// (g, 10.0.0.3) whose veth the guest process bridges; starts gannetd. Returns that veth.
  static func twoVMsAndAGuestNamespace(_ c: TestCloud) throws -> String {
    try c.addVM("a", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1")
    try c.addVM("b", mac: "fa:16:3e:00:00:02", ip: "10.0.0.2")
    let kernelSide = try c.addVM("g", mac: "fa:16:3e:00:00:03", ip: "10.0.0.3")
    try c.start()
    try c.ctl("network create n --tenant t --vni 1001")
    for (vm, n) in [("a", 1), ("b", 2)] {
      try c.ctl("port create \(vm) --network n --mac fa:16:3e:00:00:0\(n) --ip 10.0.0.\(n) --local \(c.spec(vm))")
    }
    return kernelSide
  }

  @Test(arguments: [false, true])
  func aGuestOverVhostUserTalksToANamespaceVMAndComesBack(gannetdIsClient: Bool) throws {
    let c = try TestCloud(dpdk: true, idleSleepMicroseconds: 1000)
    defer { c.destroy() }
    let kernelSide = try Self.twoVMsAndAGuestNamespace(c)
    let socket = "\(c.dir)/g.sock"
    var guest: Guest
    if gannetdIsClient {
      // The guest is the server: its socket exists before gannetd connects to it.
      guest = try Guest(c, socket: socket, kernelSide: kernelSide, server: true)
      try waitFor("the guest's socket", seconds: 20) { FileManager.default.fileExists(atPath: socket) }
      try c.ctl("port create g --network n --mac fa:16:3e:00:00:03 --ip 10.0.0.3 --local vhost-user-client:\(socket)")
    } else {
      try c.ctl("port create g --network n --mac fa:16:3e:00:00:03 --ip 10.0.0.3 --local vhost-user:\(socket)")
      #expect(FileManager.default.fileExists(atPath: socket), "gannetd creates the socket")
      guest = try Guest(c, socket: socket, kernelSide: kernelSide, server: false)
    }
    defer { guest.kill() }
    let vmA = c.vm("a").ns, vmB = c.vm("b").ns, vmG = c.vm("g").ns
    try waitFor("the guest answers \(vmA)'s ping (guest: \(guest.log))", seconds: 20) { try Self.reaches(vmA, "10.0.0.3") }
    #expect(try c.ping(from: "g", "10.0.0.1", count: 5, interval: "0.1"))
    #expect(try TestCloud.tcpTransfer(fromNamespace: vmA, toNamespace: vmG, ip: "10.0.0.3", bytes: 2_000_000), "TCP a -> guest")
    #expect(try TestCloud.tcpTransfer(fromNamespace: vmG, toNamespace: vmA, ip: "10.0.0.1", bytes: 2_000_000), "TCP guest -> a")

    // The guest goes away and comes back while b pings a: b loses nothing, and the guest
    // is reachable again once it has reconnected (gannetd reconnects as a client).
    let pinger = Process()
    pinger.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    pinger.arguments = ["timeout", "-s", "KILL", "60", "ip", "netns", "exec", vmB, "ping", "-c", "120", "-i", "0.05", "-W", "2", "-q", "10.0.0.1"]
    let pingOut = Pipe()
    pinger.standardOutput = pingOut
    try pinger.run()
    guest.kill()
    try waitFor("the guest is unreachable once killed", seconds: 10) { try !Self.reaches(vmA, "10.0.0.3") }
    // A killed server leaves its socket file behind; a new one binds afresh (QEMU's
    // server=on unlinks it the same way).
    if gannetdIsClient { try? FileManager.default.removeItem(atPath: socket) }
    guest = try Guest(c, socket: socket, kernelSide: kernelSide, server: gannetdIsClient)
    try waitFor("the restarted guest answers (guest: \(guest.log))", seconds: 30) { try Self.reaches(vmA, "10.0.0.3") }
    #expect(try TestCloud.tcpTransfer(fromNamespace: vmA, toNamespace: vmG, ip: "10.0.0.3", bytes: 1_000_000), "TCP after reconnect")
    pinger.waitUntilExit()
    let summary = String(decoding: pingOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(summary.contains("120 received") && summary.contains(" 0% packet loss"), "b -> a while the guest came and went: \(summary)")
    let ports = try c.show("ports") as? [[String: Any]] ?? []
    #expect(ports.first { $0["id"] as? String == "g" }?["status"] as? String == "up", "\(ports)")
  }

  /// Two workers and a guest with one queue pair: the port is offered two, the guest enables
  /// one, and the worker whose own TX queue the guest never enabled sends on the enabled one
  /// (b is polled by worker 1, so b -> guest crosses it), instead of into a ring nobody reads.
  @Test func aSingleQueueGuestIsReachedFromEveryWorker() throws {
    let c = try TestCloud(dpdk: true, workers: 2, idleSleepMicroseconds: 1000)
    defer { c.destroy() }
    let kernelSide = try Self.twoVMsAndAGuestNamespace(c)
    let socket = "\(c.dir)/g.sock"
    // A socket in a directory that does not exist: refused, named, nothing half-made.
    let refused = try c.ctl("port create g --network n --mac fa:16:3e:00:00:03 --ip 10.0.0.3 --local vhost-user:\(c.dir)/none/g.sock",
                            check: false)
    #expect(refused.contains("directory \(c.dir)/none does not exist"), "\(refused)")
    #expect((try c.show("ports") as? [[String: Any]])?.count == 2)
    try c.ctl("port create g --network n --mac fa:16:3e:00:00:03 --ip 10.0.0.3 --local vhost-user:\(socket)")
    let guest = try Guest(c, socket: socket, kernelSide: kernelSide, server: false)
    defer { guest.kill() }
    try waitFor("the guest answers a's ping (guest: \(guest.log))", seconds: 20) { try Self.reaches(c.vm("a").ns, "10.0.0.3") }
    #expect(try c.ping(from: "b", "10.0.0.3", count: 5, interval: "0.1"), "b (worker 1) -> guest")
    #expect(try c.ping(from: "a", "10.0.0.3", count: 5, interval: "0.1"), "a (worker 0) -> guest")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.vm("b").ns, toNamespace: c.vm("g").ns, ip: "10.0.0.3", bytes: 2_000_000),
            "TCP b -> guest")
  }
}
