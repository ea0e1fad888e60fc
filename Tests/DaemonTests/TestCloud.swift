import Control
import Foundation
import TestSupport
import Testing

/// A compute node in a box: a "host" network namespace where gannetd runs, and one
/// namespace per VM joined to the host by a veth pair (VM side `eth0`, host side the
/// interface gannetd attaches to). Names carry a random tag so that tests can run in
/// parallel; `destroy()` stops gannetd and deletes every namespace (and with them the
/// veths), and is called from `defer` so it runs when a test fails too.
final class TestCloud: @unchecked Sendable {
  let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
  let host: String
  let dir: String
  var socket: String { "\(dir)/gannetd.sock" }
  let stateFile: String
  var configFile: String { "\(dir)/gannetd.json" }
  private(set) var vms: [String: (ns: String, hostIf: String)] = [:]
  private var daemon: Process?
  private var daemonLog: String { "\(dir)/gannetd.log" }
  let dpdk: Bool
  let workers: Int
  let tunnelIP: String
  /// The node's name in its config (and in the cloud's registry).
  let name: String

  /// `underlay`: gannetd attaches `ul0` of the host namespace as its VTEP underlay (create
  /// it with `TestCloud.connectUnderlays` or `connectUnderlay(toNamespace:)` before `start`).
  /// `uplink`: gannetd attaches `up0` of the host namespace as its external-network port.
  /// `extraConfig`: more config fields, e.g. `"nat": {…}`.
  init(dpdk: Bool = false, workers: Int = 1, tunnelIP: String = "192.0.2.11", underlay: Bool = false, role: String = "compute",
       dvrMAC: String = "fa:16:3f:00:00:11", uplink: Bool = false, extraConfig: String = "", stateDirectory: String? = nil,
       underlayGateway: String? = nil, idleSleepMicroseconds: Int = 100) throws {
    self.dpdk = dpdk
    self.workers = workers
    self.tunnelIP = tunnelIP
    name = "\(role)-\(tag)"
    host = "gnH\(tag)"
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("gannet-\(tag)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    stateFile = "\(dir)/\(stateDirectory.map { $0 + "/" } ?? "")state.json"
    try sh(["ip", "netns", "add", host])
    try sh(["ip", "-n", host, "link", "set", "lo", "up"])
    // The underlay needs a TX queue per worker plus one for the control thread's ARP.
    let ul = dpdk ? "dpdk:net_af_packetul,iface=ul0,qpairs=\(workers + 1)" : "af-packet:ul0"
    let gatewayField = underlayGateway.map { #", "gateway": "\#($0)""# } ?? ""
    let underlayField = underlay ? #", "underlay": {"interface": "\#(ul)", "prefix_length": 24\#(gatewayField)}"# : ""
    let up = dpdk ? "dpdk:net_af_packetup,iface=up0,qpairs=\(workers + 1)" : "af-packet:up0"
    let uplinkField = uplink ? #", "uplink": {"interface": "\#(up)"}"# : ""
    let extra = extraConfig.isEmpty ? "" : ", " + extraConfig
    let cfg = """
      {"node": {"name": "\(name)", "role": "\(role)", "tunnel_ip": "\(tunnelIP)", "dvr_host_mac": "\(dvrMAC)"},
       "control_socket": "\(socket)", "state_file": "\(stateFile)", "idle_sleep_us": \(idleSleepMicroseconds), "workers": \(workers),
       "dpdk": {"enabled": \(dpdk), "memory_mb": 512}\(underlayField)\(uplinkField)\(extra)}
      """
    try cfg.write(toFile: configFile, atomically: true, encoding: .utf8)
  }

  /// A VM namespace with `eth0` (MAC, IPv4 /24) wired to a new host-side interface.
  /// `mtu`: the VM's interface MTU (Neutron gives VMs the network's MTU by DHCP).
  /// `offloads`: keep the VM's offloads at their defaults (default: unless behind DPDK's
  /// net_af_packet, see below; a VM with them on behind a DPDK node uses `afPacketSpec`).
  @discardableResult
  func addVM(_ name: String, mac: String, ip: String, mtu: Int? = nil, gateway: String? = nil, offloads: Bool? = nil) throws -> String {
    let ns = "gnV\(tag)\(name)", hostIf = "t\(tag)\(vms.count)"
    try sh(["ip", "netns", "add", ns])
    try sh(["ip", "link", "add", hostIf, "netns", host, "type", "veth", "peer", "name", "eth0", "netns", ns])
    try sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
    try sh(["ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
    // The VM's offloads stay at their defaults (TSO, GSO, checksum offload on): Gannet's
    // AF_PACKET port segments super-frames and completes checksums (PACKET_VNET_HDR).
    if !(offloads ?? !dpdk) {
      // DPDK's net_af_packet PMD reads frames without the kernel's offload description
      // (no PACKET_VNET_HDR) into one mbuf each: behind it the VM segments and checksums
      // in software, as a VM behind a NIC without offload would. (A VM of a DPDK node
      // attaches over vhost-user; these tests use net_af_packet to drive DPDK's I/O.)
      try sh(["ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tso", "off", "gso", "off", "tx", "off"])
    }
    try sh(["ip", "-n", ns, "link", "set", "eth0", "address", mac])
    if let mtu { try sh(["ip", "-n", ns, "link", "set", "eth0", "mtu", "\(mtu)"]) }
    try sh(["ip", "-n", ns, "addr", "add", "\(ip)/24", "dev", "eth0"])
    try sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
    try sh(["ip", "-n", ns, "link", "set", "lo", "up"])
    try sh(["ip", "-n", host, "link", "set", hostIf, "up"])
    if let gateway { try sh(["ip", "-n", ns, "route", "add", "default", "via", gateway]) }
    vms[name] = (ns, hostIf)
    return hostIf
  }

  /// The port spec gannetd should attach for `vm`'s host-side interface.
  /// Gannet's own AF_PACKET port for `vm`, whatever the backend.
  func afPacketSpec(_ vm: String) -> String { "af-packet:\(vms[vm]!.hostIf)" }

  func spec(_ vm: String) -> String {
    let i = vms[vm]!.hostIf
    // net_af_packet has one queue pair unless told otherwise; every worker needs a TX queue.
    let qpairs = workers > 1 ? ",qpairs=\(workers)" : ""
    return dpdk ? "dpdk:net_af_packet\(i.dropFirst(1 + tag.count)),iface=\(i)\(qpairs)" : "af-packet:\(i)"
  }

  /// Starts gannetd inside the host namespace and waits for its control socket.
  func start() throws {
    let p = try startLogged("/usr/bin/env", ["ip", "netns", "exec", host, executable("gannetd"), "--config", configFile], log: daemonLog)
    daemon = p
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
      if (try? ControlClient(path: socket).call(.show(.node))) != nil { return }
      guard p.isRunning else { throw ControlError("test", "gannetd exited: \(log())") }
      usleep(100_000)
    }
    throw ControlError("test", "gannetd did not open its socket: \(log())")
  }

  /// SIGTERM (clean stop) or SIGKILL (crash); waits for the process to end.
  func stop(kill: Bool = false) {
    guard let p = daemon, p.isRunning else { return }
    if kill { Foundation.kill(p.processIdentifier, SIGKILL) } else { p.terminate() }
    let deadline = Date().addingTimeInterval(10)
    while p.isRunning && Date() < deadline { usleep(50_000) }
    if p.isRunning {
      Foundation.kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
      if !kill { Issue.record("gannetd did not stop within 10 s of SIGTERM") }
    } else if !kill && p.terminationStatus != 0 {
      Issue.record("gannetd exited with status \(p.terminationStatus) on SIGTERM: \(log().suffix(500))")
    }
    daemon = nil
  }

  /// gannetd's process id while it runs (`ip netns exec` execs it in place).
  var pid: Int32? { daemon.flatMap { $0.isRunning ? $0.processIdentifier : nil } }

  /// The namespace and host-side interface of a VM.
  func vm(_ name: String) -> (ns: String, hostIf: String) { vms[name]! }

  func log() -> String { (try? String(contentsOfFile: daemonLog, encoding: .utf8)) ?? "" }

  /// Runs gannetctl against this node's socket.
  @discardableResult
  func ctl(_ args: String..., check: Bool = true) throws -> String {
    let words = args.flatMap { $0.split(separator: " ").map(String.init) }
    return try sh([executable("gannetctl")] + words + ["--socket", socket], check: check).out
  }

  /// Runs gannetctl with `words` as they are (arguments that contain spaces: filters, packets).
  @discardableResult
  func ctl(words: [String], check: Bool = true) throws -> String {
    try sh([executable("gannetctl")] + words + ["--socket", socket], check: check).out
  }

  /// gannetctl `words` with --json, parsed.
  func json(_ words: [String]) throws -> [String: Any] {
    let out = try ctl(words: words + ["--json"])
    return try JSONSerialization.jsonObject(with: Data(out.utf8), options: [.fragmentsAllowed]) as? [String: Any] ?? [:]
  }

  /// `show X --json`, parsed.
  func show(_ what: String) throws -> Any {
    let out = try ctl("show", what, "--json")
    return try JSONSerialization.jsonObject(with: Data(out.utf8), options: [.fragmentsAllowed])
  }

  /// The count of a drop reason summed over nodes and ports.
  func drops(_ reason: String) throws -> Int {
    let rows = try show("drops") as? [[String: Any]] ?? []
    return rows.filter { $0["reason"] as? String == reason }.reduce(0) { $0 + (($1["count"] as? Int) ?? 0) }
  }

  /// ping from a VM; true when every echo was answered. `extra`: more ping options.
  func ping(from vm: String, _ ip: String, count: Int = 3, interval: String = "0.2", extra: [String] = []) throws -> Bool {
    try Self.ping(namespace: vms[vm]!.ns, ip, count: count, interval: interval, extra: extra)
  }

  static func ping(namespace: String, _ ip: String, count: Int = 3, interval: String = "0.2", extra: [String] = []) throws -> Bool {
    let r = try sh(["timeout", "-s", "KILL", "30", "ip", "netns", "exec", namespace, "ping", "-c", "\(count)", "-i", interval, "-W", "2",
                    "-q"] + extra + [ip], check: false)
    return r.status == 0 && r.out.contains(" 0% packet loss")
  }

  /// Sends `bytes` of random data over TCP from one VM to a listener in another; returns
  /// true when the receiver got all of it with the same SHA-256.
  func tcpTransfer(from src: String, to dst: String, ip: String, bytes: Int = 2_000_000) throws -> Bool {
    try Self.tcpTransfer(fromNamespace: vms[src]!.ns, toNamespace: vms[dst]!.ns, ip: ip, bytes: bytes)
  }

  /// One TCP connection attempt from `srcNS` to `ip`:`port` within `seconds` (nothing need
  /// listen: a refusal is an answer too). "connected", "refused" or "timeout".
  static func tcpConnect(fromNamespace srcNS: String, ip: String, port: Int, seconds: Int = 3) throws -> String {
    try sh(["timeout", "-s", "KILL", "\(seconds + 10)", "ip", "netns", "exec", srcNS, "python3", "-c", """
      import socket
      try:
          socket.create_connection(("\(ip)", \(port)), timeout=\(seconds)).close(); print("connected")
      except ConnectionRefusedError: print("refused")
      except OSError: print("timeout")
      """], check: false).out.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// `tcpTransfer` between any two namespaces (VMs of different nodes, a kernel VTEP's).
  /// `seconds`: how long either side may take (100 MB through a debug build needs more).
  static func tcpTransfer(fromNamespace srcNS: String, toNamespace dstNS: String, ip: String, bytes: Int = 2_000_000,
                          port: Int = 5001, seconds: Int = 30) throws -> Bool {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    server.arguments = ["timeout", "-s", "KILL", "\(seconds)", "ip", "netns", "exec", dstNS, "python3", "-c", """
      import socket, hashlib
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(("0.0.0.0", \(port))); s.listen(1); print("listening", flush=True)
      c, _ = s.accept(); h = hashlib.sha256(); n = 0
      while True:
          d = c.recv(65536)
          if not d: break
          h.update(d); n += len(d)
      print(n, h.hexdigest(), flush=True)
      """]
    let out = Pipe()
    server.standardOutput = out
    try server.runUnblocked()
    defer { if server.isRunning { server.terminate() } }
    var seen = Data()
    while !String(decoding: seen, as: UTF8.self).contains("listening") && server.isRunning {
      seen += out.fileHandleForReading.availableData
    }
    let client = try sh(["timeout", "-s", "KILL", "\(seconds)", "ip", "netns", "exec", srcNS, "python3", "-c", """
      import socket, hashlib, os, time
      data = os.urandom(\(bytes))
      for _ in range(50):
          try:
              c = socket.create_connection(("\(ip)", \(port)), timeout=5); break
          except OSError: time.sleep(0.1)
      c.settimeout(None)   # the transfer is bounded by `timeout` as a whole, not per send
      c.sendall(data); c.close()
      print(len(data), hashlib.sha256(data).hexdigest())
      """], check: false)
    server.waitUntilExit()
    seen += out.fileHandleForReading.readDataToEndOfFile()
    let got = String(decoding: seen, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    let sent = client.out.trimmingCharacters(in: .whitespacesAndNewlines)
    let ok = client.status == 0 && !sent.isEmpty && got == sent
    if !ok { print("TCP \(srcNS) -> \(ip):\(port) failed: client status \(client.status), said \(sent.suffix(800)); server said \(got)") }
    return ok
  }

  /// The frames (tshark summary lines) a VM's eth0 sees while `body` runs.
  func capture(on vm: String, filter: String, seconds: Int = 4, during body: () throws -> Void) throws -> [String] {
    try capture(namespace: vms[vm]!.ns, interface: "eth0", filter: filter, seconds: seconds, during: body)
  }

  /// The frames `interface` in `namespace` receives or the kernel sends there while `body`
  /// runs, as tshark summary lines matching the display filter. (Frames gannetd sends through
  /// AF_PACKET bypass the sender's taps: capture on the receiving side.)
  /// The capture lasts at least `seconds` from its start and at least half a second past the
  /// end of `body`, however long `body` takes (a busy machine must not cut a capture short).
  /// With `fields`, each line is those tshark fields (`-T fields -e …`) instead of a summary.
  func capture(namespace: String, interface: String, filter: String, seconds: Int = 4, fields: [String] = [],
               during body: () throws -> Void) throws -> [String] {
    let file = "\(dir)/cap-\(namespace)-\(interface).pcap"
    let cap = Process()
    cap.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    // tshark is stopped with SIGTERM, on which it writes out what it captured and exits (SIGINT
    // is no way: the test runner's children inherit it ignored). Its own limit is only a
    // backstop for a test that dies before stopping it.
    cap.arguments = ["ip", "netns", "exec", namespace, "tshark", "-q", "-i", interface, "-a", "duration:600", "-w", file]
    cap.standardOutput = FileHandle.nullDevice
    let status = Pipe()
    cap.standardError = status
    try cap.runUnblocked()
    defer { if cap.isRunning { cap.terminate(); cap.waitUntilExit() } }
    // Wait until the capture runs, not a fixed time: dumpcap creates the file and writes its
    // header only once the interface is open (tshark's "Capturing on" comes before that).
    let deadline = Date().addingTimeInterval(20)
    func started() -> Bool { ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0) ?? 0 > 0 }
    while !started() && cap.isRunning && Date() < deadline { usleep(20_000) }
    guard started() else {
      throw ControlError("test", "tshark did not start capturing: \(String(decoding: status.fileHandleForReading.availableData, as: UTF8.self))")
    }
    let start = Date()
    try body()
    let until = max(start.addingTimeInterval(TimeInterval(seconds)), Date().addingTimeInterval(0.5))
    while Date() < until && cap.isRunning { usleep(50_000) }
    cap.terminate()
    cap.waitUntilExit()
    let r = try sh(["tshark", "-r", file, "-Y", filter] + (fields.isEmpty ? [] : ["-T", "fields"] + fields.flatMap { ["-e", $0] }),
                   check: false, stderr: false)
    return r.out.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
  }

  /// Joins the `ul0` underlay interfaces of two nodes with a veth pair (an underlay link).
  static func connectUnderlays(_ a: TestCloud, _ b: TestCloud) throws {
    try sh(["ip", "link", "add", "ul0", "netns", a.host, "type", "veth", "peer", "name", "ul0", "netns", b.host])
    try sh(["ip", "-n", a.host, "link", "set", "ul0", "up"])
    try sh(["ip", "-n", b.host, "link", "set", "ul0", "up"])
  }

  /// Joins this node's `ul0` to `ul0` in another namespace (a kernel VTEP, say).
  func connectUnderlay(toNamespace ns: String) throws {
    try sh(["ip", "link", "add", "ul0", "netns", host, "type", "veth", "peer", "name", "ul0", "netns", ns])
    try sh(["ip", "-n", host, "link", "set", "ul0", "up"])
    try sh(["ip", "-n", ns, "link", "set", "ul0", "up"])
  }

  /// Joins this node's `interface` to the bridge `bridge` in namespace `ns` (a switch).
  func plug(_ interface: String, intoBridge bridge: String, namespace ns: String) throws {
    let peer = "p\(tag)\(interface)"
    try sh(["ip", "link", "add", interface, "netns", host, "type", "veth", "peer", "name", peer, "netns", ns])
    try sh(["ip", "-n", ns, "link", "set", peer, "master", bridge])
    try sh(["ip", "-n", ns, "link", "set", peer, "up"])
    try sh(["ip", "-n", host, "link", "set", interface, "up"])
  }

  /// `show tunnels`, polled until every tunnel's next hop is resolved (or `seconds` pass).
  func resolvedTunnels(seconds: Double = 10) throws -> [[String: Any]] {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
      let rows = try show("tunnels") as? [[String: Any]] ?? []
      if (!rows.isEmpty && rows.allSatisfy { $0["state"] as? String == "resolved" }) || Date() > deadline { return rows }
      usleep(100_000)
    }
  }

  /// The MAC of an interface in a namespace.
  static func mac(namespace: String, interface: String) throws -> String {
    try sh(["ip", "netns", "exec", namespace, "cat", "/sys/class/net/\(interface)/address"]).out
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func destroy() {
    stop()
    for (_, v) in vms { _ = try? sh(["ip", "netns", "del", v.ns], check: false) }
    _ = try? sh(["ip", "netns", "del", host], check: false)
    try? FileManager.default.removeItem(atPath: dir)
  }
}
