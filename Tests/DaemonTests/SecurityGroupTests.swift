import Control
import Foundation
import TestSupport
import Testing

/// Security groups end to end (issue 14): kernel TCP, UDP and ping between namespace VMs
/// through gannetd; what a group admits, the replies it lets back, and a rule deletion
/// cutting a live connection while another flow keeps flowing.
@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct SecurityGroupTests {
  /// A TCP echo server in `vm` on every port of `ports` (threads; bounded by `timeout`).
  func echoServer(_ c: TestCloud, in vm: String, ports: [Int]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["timeout", "-s", "KILL", "60", "ip", "netns", "exec", c.vm(vm).ns, "python3", "-c", """
      import socket, threading
      def serve(c):
          while True:
              d = c.recv(256)
              if not d: break
              c.sendall(d)
      def listen(port):
          s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen(8)
          while True:
              c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
      for port in \(ports): threading.Thread(target=listen, args=(port,), daemon=True).start()
      threading.Event().wait()
      """]
    try p.run()
    try waitFor("the echo server in \(vm)", seconds: 10) {
      let out = try sh(["ip", "netns", "exec", c.vm(vm).ns, "ss", "-ltnH"]).out
      return ports.allSatisfy { out.contains(":\($0) ") }
    }
    return p
  }

  /// "ok" when a TCP connection to ip:port echoes a line within 2 s, else "timeout"/"refused".
  func connect(_ c: TestCloud, from vm: String, _ ip: String, _ port: Int) throws -> String {
    try sh(["timeout", "-s", "KILL", "10", "ip", "netns", "exec", c.vm(vm).ns, "python3", "-c", """
      import socket
      try:
          s = socket.create_connection(("\(ip)", \(port)), timeout=2); s.sendall(b"hi"); print("ok" if s.recv(16) == b"hi" else "bad")
      except socket.timeout: print("timeout")
      except OSError as e: print("refused")
      """], check: false).out.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test func groupsAdmitWhatTheyAllowTheRepliesAndCutRevokedConnectionsAtOnce() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try c.addVM("web", mac: "fa:16:3e:00:07:01", ip: "10.7.0.1")
    try c.addVM("cli", mac: "fa:16:3e:00:07:02", ip: "10.7.0.2")
    try c.start()
    try c.ctl("network create net-s --tenant t --vni 701")
    try c.ctl("sg create web --tenant t")
    try c.ctl("sg rule-add web --id http --direction ingress --protocol tcp --port 8080")
    try c.ctl("port create web --network net-s --mac fa:16:3e:00:07:01 --ip 10.7.0.1 --local \(c.spec("web")) --security-group web")
    try c.ctl("port create cli --network net-s --mac fa:16:3e:00:07:02 --ip 10.7.0.2 --local \(c.spec("cli"))")
    let server = try echoServer(c, in: "web", ports: [8080, 9090])
    defer { server.terminate() }

    #expect(try connect(c, from: "cli", "10.7.0.1", 8080) == "ok")
    #expect(try connect(c, from: "cli", "10.7.0.1", 9090) == "timeout", "port 9090 has no rule: no answer at all")
    #expect(try c.drops("acl-ingress-deny") >= 1)
    #expect(try !c.ping(from: "cli", "10.7.0.1", count: 2, extra: ["-W", "1"]), "no ICMP rule")
    try c.ctl("sg rule-add web --id ping --direction ingress --protocol icmp --icmp-type 8")
    #expect(try c.ping(from: "cli", "10.7.0.1", count: 3), "echo requests admitted, replies tracked")

    // web's own connections: none without an egress rule; with one, replies need no ingress rule.
    let cliServer = try echoServer(c, in: "cli", ports: [7070])
    defer { cliServer.terminate() }
    #expect(try connect(c, from: "web", "10.7.0.2", 7070) == "timeout")
    #expect(try c.drops("acl-egress-deny") >= 1)
    try c.ctl("sg rule-add web --id out --direction egress --protocol tcp")
    #expect(try connect(c, from: "web", "10.7.0.2", 7070) == "ok")

    // Hits and tracked connections are visible.
    let group = try c.ctl("sg show web")
    #expect(group.contains("http") && group.contains("cli") == false, "\(group)")
    let tracked = try c.ctl("conntrack list --port web --proto tcp")
    #expect(tracked.contains("10.7.0.1:8080") && tracked.contains("10.7.0.2:7070"), "\(tracked)")

    // A live connection to 8080 echoing every 100 ms, and a ping flow: deleting the http rule
    // cuts the connection within 1 s; the ping flow loses nothing.
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    holder.arguments = ["timeout", "-s", "KILL", "20", "ip", "netns", "exec", c.vm("cli").ns, "python3", "-u", "-c", """
      import socket, time
      s = socket.create_connection(("10.7.0.1", 8080), timeout=0.5)
      end = time.time() + 5
      while time.time() < end:
          try:
              s.sendall(b"x"); s.recv(16); print("echo", time.time(), flush=True)
          except OSError: pass
          time.sleep(0.1)
      """]
    let holderOut = Pipe()
    holder.standardOutput = holderOut
    try holder.run()
    let pinger = Process()
    pinger.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    pinger.arguments = ["timeout", "-s", "KILL", "20", "ip", "netns", "exec", c.vm("cli").ns, "ping", "-c", "40", "-i", "0.1", "-W", "1", "-q",
                        "10.7.0.1"]
    let pingOut = Pipe()
    pinger.standardOutput = pingOut
    try pinger.run()
    var early = Data()
    try waitFor("the held connection to echo", seconds: 5) {
      early += holderOut.fileHandleForReading.availableData
      return String(decoding: early, as: UTF8.self).contains("echo")
    }
    usleep(500_000)   // pacing: let the connection echo a few times before the cut
    let cut = Date().timeIntervalSince1970
    try c.ctl("sg rule-delete web --id http")
    holder.waitUntilExit()
    pinger.waitUntilExit()
    let lines = String(decoding: early + holderOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
    let echoes = lines.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    let last = try #require(echoes.max())
    #expect(echoes.count >= 3, "\(lines)")
    #expect(last < cut + 1.0, "the revoked connection still echoed \(last - cut) s after the commit")
    let summary = String(decoding: pingOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(summary.contains(" 0% packet loss"), "\(summary)")
  }

  /// Two workers: each VM port is polled by its own worker, so a connection's two
  /// directions are handled by different workers; each port still tracks it once.
  @Test func aConnectionSplitAcrossWorkersIsTrackedOncePerPort() throws {
    let c = try TestCloud(workers: 2)
    defer { c.destroy() }
    try c.addVM("a", mac: "fa:16:3e:00:08:01", ip: "10.8.0.1")
    try c.addVM("b", mac: "fa:16:3e:00:08:02", ip: "10.8.0.2")
    try c.start()
    try c.ctl("network create net-w --tenant t --vni 801")
    try c.ctl("sg create default --tenant t")
    try c.ctl("sg rule-add default --id in --direction ingress --protocol tcp --remote-cidr 10.8.0.0/24")
    try c.ctl("sg rule-add default --id out --direction egress")
    // No --security-group: both ports get the tenant's default group.
    try c.ctl("port create a --network net-w --mac fa:16:3e:00:08:01 --ip 10.8.0.1 --local \(c.spec("a"))")
    try c.ctl("port create b --network net-w --mac fa:16:3e:00:08:02 --ip 10.8.0.2 --local \(c.spec("b"))")
    #expect(try c.ctl("sg show default").contains("a, b"))
    #expect(try c.tcpTransfer(from: "a", to: "b", ip: "10.8.0.2", bytes: 500_000))
    for port in ["a", "b"] {
      let count = try c.ctl("conntrack count --port \(port) --proto tcp")
      #expect(count.contains("matched     1\n"), "port \(port): \(count)")
    }
    #expect(try c.drops("ct-invalid") == 0 && c.drops("acl-ingress-deny") == 0 && c.drops("acl-egress-deny") == 0)
  }
}
