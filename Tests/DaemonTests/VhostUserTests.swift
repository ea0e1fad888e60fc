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
      try process.runUnblocked()
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
    try pinger.runUnblocked()
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

  /// A real VM: QEMU boots Debian's own kernel (`tools/guest-image.sh`: the linux-image
  /// package's kernel and virtio modules, a busybox initramfs) with its virtio-net on
  /// gannetd's vhost-user socket, the guest's offloads left at their defaults. TCG here: the
  /// CPU exposes no virtualization. `vectors=0`: with MSI-X, QEMU 7.2 under TCG crashes in
  /// vhost_net_start (msix_set_vector_notifiers). The guest pings a namespace VM, sends it
  /// 1 MiB over TCP and receives 1 MiB back; SHA-256 compared on both sides.
  @Test func aQEMUGuestPingsAndTransfersTCPOverVhostUser() throws {
    let c = try TestCloud(dpdk: true, idleSleepMicroseconds: 1000)
    defer { c.destroy() }
    try c.addVM("a", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1")
    // b: offloads on, on Gannet's AF_PACKET port: its super-frames reach the guest re-formed.
    try c.addVM("b", mac: "fa:16:3e:00:00:02", ip: "10.0.0.2", offloads: true)
    try c.start()
    try c.ctl("network create n --tenant t --vni 1001")
    try c.ctl("port create a --network n --mac fa:16:3e:00:00:01 --ip 10.0.0.1 --local \(c.spec("a"))")
    try c.ctl("port create b --network n --mac fa:16:3e:00:00:02 --ip 10.0.0.2 --local \(c.afPacketSpec("b"))")
    let socket = "\(c.dir)/qemu.sock"
    try c.ctl("port create g --network n --mac fa:16:3e:00:00:03 --ip 10.0.0.3 --local vhost-user:\(socket)")
    let script = """
      ip addr add 10.0.0.3/24 dev eth0
      ip link set eth0 up
      echo GUEST-UP
      ping -c 3 -W 2 10.0.0.1 && echo GUEST-PING-OK
      dd if=/dev/urandom of=/tmp/out bs=1024 count=1024 2>/dev/null
      echo "GUEST-SENT $(sha256sum /tmp/out | cut -d' ' -f1)"
      nc -w 10 10.0.0.1 5000 < /tmp/out && echo GUEST-SEND-DONE
      nc -l -p 5001 > /tmp/in &
      echo GUEST-LISTENING
      wait
      echo "GUEST-RECEIVED $(sha256sum /tmp/in | cut -d' ' -f1)"
      nc -l -p 5002 > /tmp/in2 &
      echo GUEST-LISTENING2
      wait
      echo "GUEST-RECEIVED2 $(sha256sum /tmp/in2 | cut -d' ' -f1)"

      """
    try script.write(toFile: "\(c.dir)/guest.sh", atomically: true, encoding: .utf8)
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    try sh(["bash", "\(repo)/tools/guest-image.sh", "\(c.dir)/guest", "\(c.dir)/guest.sh"])
    let vmA = c.vm("a").ns
    let received = "\(c.dir)/from-guest"
    let listener = Process()
    listener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    listener.arguments = ["timeout", "-s", "KILL", "300", "ip", "netns", "exec", vmA, "sh", "-c", "nc -l -p 5000 > \(received)"]
    try listener.runUnblocked()
    let serial = "\(c.dir)/serial.log"
    let qemu = Process()
    qemu.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    qemu.arguments = ["timeout", "-s", "KILL", "300", "qemu-system-x86_64", "-machine", "q35,accel=tcg", "-cpu", "max", "-m", "256",
                      "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-numa", "node,memdev=mem",
                      "-chardev", "socket,id=c0,path=\(socket)", "-netdev", "vhost-user,id=n0,chardev=c0",
                      "-device", "virtio-net-pci,netdev=n0,mac=fa:16:3e:00:00:03,vectors=0",
                      "-kernel", "\(c.dir)/guest/vmlinuz", "-initrd", "\(c.dir)/guest/initrd.gz",
                      "-append", "console=ttyS0 panic=-1 quiet", "-display", "none", "-serial", "file:\(serial)", "-no-reboot"]
    let qemuOutput = Pipe()
    qemu.standardOutput = qemuOutput
    qemu.standardError = qemuOutput
    try qemu.runUnblocked()
    defer {
      if qemu.isRunning { qemu.terminate() }
      if listener.isRunning { listener.terminate() }
    }
    func console() -> String {
      // Lossy: the firmware writes escape sequences that are not UTF-8.
      let text = String(decoding: FileManager.default.contents(atPath: serial) ?? Data(), as: UTF8.self)
      return qemu.isRunning ? text : text + " [qemu exited: \(String(decoding: qemuOutput.fileHandleForReading.availableData, as: UTF8.self))]"
    }
    func line(_ marker: String) -> String? {
      // isNewline: the console ends lines with "\r\n", one Character in Swift.
      console().split(whereSeparator: \.isNewline).first { $0.hasPrefix(marker) }.map(String.init)
    }
    try waitFor("the guest boots, pings and sends (console: \(console().suffix(800)))", seconds: 240) { line("GUEST-LISTENING") != nil || !qemu.isRunning }
    #expect(line("GUEST-PING-OK") != nil, "\(console().suffix(800))")
    let sent = line("GUEST-SENT ").map { String($0.dropFirst("GUEST-SENT ".count)) }
    try waitFor("the namespace VM's listener ends", seconds: 20) { !listener.isRunning }
    let got = try sh(["sha256sum", received]).out.split(separator: " ").first.map(String.init)
    #expect(sent != nil && sent == got, "guest -> VM: guest sent \(sent ?? "?"), VM received \(got ?? "?")")
    // The guest's virtio-net negotiated TSO4 and sent super-frames, which gannetd segmented.
    let counters = try c.ctl("show counters")
    #expect(try superFrames(c, port: "g") > 0, "super-frames from the guest: \(counters)")
    // Back: 1 MiB from the namespace VM to the guest.
    let payload = "\(c.dir)/to-guest"
    try sh(["dd", "if=/dev/urandom", "of=\(payload)", "bs=1024", "count=1024"], stderr: false)
    let want = try sh(["sha256sum", payload]).out.split(separator: " ").first.map(String.init)
    try sh(["timeout", "-s", "KILL", "60", "ip", "netns", "exec", vmA, "sh", "-c", "nc -q 1 10.0.0.3 5001 < \(payload)"])
    try waitFor("the guest reports what it received (console: \(console().suffix(800)))", seconds: 60) { line("GUEST-RECEIVED ") != nil }
    let back = line("GUEST-RECEIVED ").map { String($0.dropFirst("GUEST-RECEIVED ".count)) }
    #expect(back != nil && back == want, "VM -> guest: sent \(want ?? "?"), guest received \(back ?? "?")")
    // 4 MiB from b (TSO on, AF_PACKET): segmented on receive, re-formed for the guest (TSO4).
    try waitFor("the guest listens again", seconds: 30) { line("GUEST-LISTENING2") != nil }
    let payload2 = "\(c.dir)/to-guest-2"
    try sh(["dd", "if=/dev/urandom", "of=\(payload2)", "bs=1024", "count=4096"], stderr: false)
    let want2 = try sh(["sha256sum", payload2]).out.split(separator: " ").first.map(String.init)
    try sh(["timeout", "-s", "KILL", "90", "ip", "netns", "exec", c.vm("b").ns, "sh", "-c", "nc -q 1 10.0.0.3 5002 < \(payload2)"])
    try waitFor("the guest reports what it received (console: \(console().suffix(800)))", seconds: 90) { line("GUEST-RECEIVED2 ") != nil }
    let back2 = line("GUEST-RECEIVED2 ").map { String($0.dropFirst("GUEST-RECEIVED2 ".count)) }
    #expect(back2 != nil && back2 == want2, "b -> guest: sent \(want2 ?? "?"), guest received \(back2 ?? "?")")
    let counters2 = try c.ctl("show counters")
    #expect(try superFrames(c, port: "b") > 0 && superFrames(c, port: "g", sent: true) > 0,
            "b's super-frames reached the guest as super-frames: \(counters2)")
  }
}
