import Control
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What a hostile tenant or a broken controller can do to one node (issue 11): each case
/// failed before its fix. gannetd runs in a namespace with VMs on AF_PACKET.
@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct HostileInputTests {
  func twoVMs(_ c: TestCloud) throws {
    try c.addVM("a1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1")
    try c.addVM("a2", mac: "fa:16:3e:00:00:02", ip: "10.0.0.2")
    try c.start()
    try c.ctl("network create net-a --tenant t --vni 1001")
    try c.ctl("port create a1 --network net-a --mac fa:16:3e:00:00:01 --ip 10.0.0.1 --local \(c.spec("a1"))")
    try c.ctl("port create a2 --network net-a --mac fa:16:3e:00:00:02 --ip 10.0.0.2 --local \(c.spec("a2"))")
  }

  /// A frame longer than the destination's link MTU is dropped and counted, and never
  /// blocks the TX ring: the next ping gets through.
  @Test func oversizedFrameIsCountedAndNeverBlocksTheRing() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try twoVMs(c)
    // a1 may send 1600-byte packets (its veth takes them); a2's link stays at 1500.
    try sh(["ip", "-n", c.vm("a1").ns, "link", "set", "eth0", "mtu", "1600"])
    try sh(["ip", "-n", c.host, "link", "set", c.vm("a1").hostIf, "mtu", "1600"])
    #expect(try c.ping(from: "a1", "10.0.0.2"), "before: \(c.log())")
    _ = try c.ping(from: "a1", "10.0.0.2", count: 5, interval: "0.05", extra: ["-s", "1572", "-M", "do"])
    #expect(try c.drops("tx-mtu-exceeded") >= 5)
    #expect(try c.ping(from: "a1", "10.0.0.2", count: 5), "a2 must stay reachable after oversized frames")
    #expect(try c.drops("tx-ring-full") == 0)
  }

  /// Clients that send a request and hang up before the reply never end the daemon.
  @Test func clientsThatHangUpMidReplyDoNotKillTheDaemon() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try twoVMs(c)
    let request = Array(#"{"version": 1, "op": "show.state"}"#.utf8) + [0x0a] + Array(#"{"version": 1, "op": "show.ports"}"#.utf8) + [0x0a]
    DispatchQueue.concurrentPerform(iterations: 50) { _ in
      guard let fd = try? Self.connect(c.socket) else { return }
      _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      var linger = linger(l_onoff: 1, l_linger: 0)
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
      close(fd)
    }
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline && c.pid != nil { usleep(50_000) }   // give a SIGPIPE time to land
    #expect(c.pid != nil, "gannetd died: \(c.log().suffix(400))")
    #expect(try c.ping(from: "a1", "10.0.0.2"))
    #expect((try c.show("node") as? [String: Any]) != nil)
  }

  /// An idle client and a client with half a request never hold up gannetctl; the half
  /// request is answered with an error when it times out.
  @Test func idleAndHalfSentClientsDoNotBlockOthers() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try twoVMs(c)
    let idle = try Self.connect(c.socket)
    defer { close(idle) }
    let half = try Self.connect(c.socket)
    defer { close(half) }
    _ = Array(#"{"version": 1, "op": "#.utf8).withUnsafeBytes { write(half, $0.baseAddress, $0.count) }
    for _ in 0..<5 {
      let t0 = Date()
      _ = try c.ctl("show node")
      #expect(Date().timeIntervalSince(t0) < 2, "gannetctl waited behind another client")
    }
    // 4 MiB of empty lines, then a request: answered (linear parsing).
    let lots = try Self.connect(c.socket)
    defer { close(lots) }
    let blob = [UInt8](repeating: 0x0a, count: 4 << 20) + Array(#"{"version": 1, "op": "show.node"}"#.utf8) + [0x0a]
    var off = 0
    while off < blob.count {
      let n = blob.withUnsafeBytes { write(lots, $0.baseAddress! + off, $0.count - off) }
      guard n > 0 else { break }
      off += n
    }
    let answer = Self.readLine(lots, seconds: 20)
    #expect(answer.contains(#""ok":true"#), "\(answer.prefix(200))")
    // The half-sent request: an error within the timeout (10 s), then the server hangs up.
    let timeout = Self.readLine(half, seconds: 20)
    #expect(timeout.contains("incomplete"), "\(timeout)")
  }

  /// Frames the kernel drops because gannetd's RX ring is full are counted per port.
  @Test func ringOverflowIsCounted() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try twoVMs(c)
    #expect(try c.ping(from: "a1", "10.0.0.2"))
    let before = try Self.rxPackets(c, port: "a1")
    let pid = try #require(c.pid)
    kill(pid, SIGSTOP)
    // 1400-byte frames: 8 MiB of ring holds about 5,600 of them; send 12,000.
    let sent = 12_000
    let r = try sh(["ip", "netns", "exec", c.vm("a1").ns, "python3", "-c", """
      import socket
      s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("eth0", 0))
      frame = bytes.fromhex("fa163e0000ee" "fa163e000001" "88b5") + bytes(1386)
      n = 0
      for _ in range(\(sent)):
          s.send(frame); n += 1
      print(n)
      """], check: false)
    kill(pid, SIGCONT)
    #expect(r.status == 0, "\(r.out)")
    var overflow = 0, received = 0
    let deadline = Date().addingTimeInterval(10)
    repeat {
      usleep(200_000)
      overflow = try c.drops("rx-ring-overflow")
      received = try Self.rxPackets(c, port: "a1") - before
    } while overflow + received < sent && Date() < deadline
    #expect(overflow > 0, "the kernel's ring drops must show as rx-ring-overflow")
    #expect(overflow + received >= sent, "every frame is accounted for: \(received) received + \(overflow) overflowed < \(sent)")
  }

  /// A state file that parses but breaks the rules is refused at start, naming the object,
  /// and left as it was; a temp file of an interrupted save is removed.
  @Test func inconsistentStateFileIsRefusedNamingTheObject() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    let state = #"""
      {"generation": 3, "networks": {"net-a": {"id": "net-a", "tenant": "t", "vni": 1001, "mtu": 1450, "learning": false,
       "learningLimit": 4096, "agingSeconds": 300}},
       "ports": {"vm9": {"id": "vm9", "network": "net-zz", "mac": "fa:16:3e:00:00:09", "fixedIPs": [],
                 "location": {"remote": {"_0": "192.0.2.50"}}, "portSecurity": true}},
       "fdb": []}
      """#
    try state.write(toFile: c.stateFile, atomically: true, encoding: .utf8)
    let r = try sh(["timeout", "20", "ip", "netns", "exec", c.host, executable("gannetd"), "--config", c.configFile], check: false)
    #expect(r.status == 2, "\(r.out)")
    #expect(r.out.contains("port 'vm9'") && r.out.contains("net-zz"), "\(r.out)")
    #expect(try String(contentsOfFile: c.stateFile, encoding: .utf8) == state)

    // A misspelt field deep inside an object is refused by its path, not ignored (the port
    // would have gone unfiltered without a word).
    let misspelt = state.replacingOccurrences(of: "net-zz", with: "net-a")
      .replacingOccurrences(of: #""portSecurity": true"#, with: #""portSecurity": true, "securityGroup": ["web"]"#)
    try misspelt.write(toFile: c.stateFile, atomically: true, encoding: .utf8)
    let m = try sh(["timeout", "20", "ip", "netns", "exec", c.host, executable("gannetd"), "--config", c.configFile], check: false)
    #expect(m.status == 2, "\(m.out)")
    #expect(m.out.contains("unknown field 'ports.vm9.securityGroup'"), "\(m.out)")

    // Fixed up by the operator, it loads; a stale temp file goes away.
    try state.replacingOccurrences(of: "net-zz", with: "net-a").write(toFile: c.stateFile, atomically: true, encoding: .utf8)
    let stale = c.stateFile + ".tmp.4242"
    try "{".write(toFile: stale, atomically: true, encoding: .utf8)
    try c.start()
    #expect(!FileManager.default.fileExists(atPath: stale))
    let ports = try c.show("ports") as? [[String: Any]] ?? []
    #expect(ports.map { $0["id"] as? String } == ["vm9"])
  }

  /// A VM port can never be an interface the node already uses: the underlay, or another
  /// port's interface under another spelling.
  @Test func vmPortOnTheNodesOwnInterfacesIsRefused() throws {
    let c = try TestCloud(underlay: true)
    defer { c.destroy() }
    try sh(["ip", "-n", c.host, "link", "add", "ul0", "type", "veth", "peer", "name", "ulp"])
    try sh(["ip", "-n", c.host, "link", "set", "ul0", "up"])
    try c.addVM("a1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1")
    try c.start()
    try c.ctl("network create net-a --tenant t --vni 1001")
    let refused = try c.ctl("port create x --network net-a --mac fa:16:3e:00:00:07 --local af-packet:ul0", check: false)
    #expect(refused.contains("underlay"), "\(refused)")
    try c.ctl("port create a1 --network net-a --mac fa:16:3e:00:00:01 --local \(c.spec("a1"))")
    let twice = try c.ctl("port create y --network net-a --mac fa:16:3e:00:00:08 --local dpdk:net_af_packet9,iface=\(c.vm("a1").hostIf)",
                          check: false)
    #expect(twice.contains("port 'a1'"), "\(twice)")
    let ports = try c.show("ports") as? [[String: Any]] ?? []
    #expect(ports.map { $0["id"] as? String } == ["a1"])
  }

  static func connect(_ path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0 else { close(fd); throw ControlError("test", "connect \(path): \(errno)") }
    return fd
  }

  /// The first line the server sends on `fd`, waiting at most `seconds`.
  static func readLine(_ fd: Int32, seconds: Double) -> String {
    var got: [UInt8] = []
    let deadline = Date().addingTimeInterval(seconds)
    var buf = [UInt8](repeating: 0, count: 65536)
    while Date() < deadline && !got.contains(0x0a) {
      var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      guard poll(&pfd, 1, 200) >= 0 else { break }
      if pfd.revents == 0 { continue }
      let n = read(fd, &buf, buf.count)
      if n <= 0 { break }
      got += buf[0..<n]
    }
    return String(decoding: got, as: UTF8.self)
  }

  static func rxPackets(_ c: TestCloud, port: String) throws -> Int {
    let counters = try c.show("counters") as? [String: Any]
    let ports = counters?["ports"] as? [[String: Any]] ?? []
    return ports.first { $0["port"] as? String == port }?["rx_packets"] as? Int ?? 0
  }
}
