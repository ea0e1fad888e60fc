import Control
import Foundation
import IO
import Tables
import Wire

/// gannetd's configuration file (JSON). Example:
///
///     {
///       "node": {"name": "compute-1", "role": "compute", "tunnel_ip": "192.0.2.11",
///                "dvr_host_mac": "fa:16:3f:00:00:11"},
///       "control_socket": "/run/gannet/gannetd.sock",
///       "state_file": "/var/lib/gannet/state.json",
///       "workers": 1,
///       "cores": [1],
///       "underlay_mtu": 1500,
///       "underlay": {"interface": "af-packet:eth1", "prefix_length": 24, "gateway": "192.0.2.1"},
///       "uplink": {"interface": "af-packet:eth2"},
///       "nat": {"max_sessions": 1048576, "tcp_established_s": 7440, "tcp_transitory_s": 240,
///               "udp_s": 300, "icmp_s": 60},
///       "conntrack": {"max_connections": 262144, "tcp_established_s": 432000, "udp_s": 30, "udp_stream_s": 120,
///                     "icmp_s": 30, "other_s": 600},
///       "dpdk": {"enabled": false, "memory_mb": 1024},
///       "idle_sleep_us": 50,
///       "metrics": {"listen": "127.0.0.1:9477"}
///     }
///
/// `metrics.listen`: where gannetd serves its counters over HTTP in Prometheus' text format
/// (`GET /metrics`); absent: no endpoint.
///
/// `underlay` is the port VXLAN runs on (RFC 7348): the node's tunnel IP lives there, on a
/// subnet of `prefix_length` bits; tunnel endpoints outside that subnet are reached through
/// `gateway`. The next hop's MAC is always resolved with ARP. `mac` overrides the
/// interface's own MAC. Without an underlay the node serves local ports only.
///
/// `uplink` is the port on the external (provider) network: floating IPs of local ports
/// (any role) and routers' SNAT (role `network`) use it; `mac` overrides the interface's.
/// `nat` sizes the SNAT connection table of a network node and sets its idle timeouts
/// (seconds; defaults from RFC 5382, RFC 4787 and RFC 5508). `conntrack` sizes the
/// connection table of security groups and lists and sets its idle timeouts (Linux's
/// defaults; TCP per state: tcp_syn_sent_s, tcp_syn_recv_s, tcp_established_s, tcp_fin_wait_s,
/// tcp_close_wait_s, tcp_last_ack_s, tcp_time_wait_s, tcp_close_s, tcp_syn_sent2_s).
///
/// Every field is checked; an unknown or malformed field stops the daemon with a
/// message that names it.
public struct DaemonConfig: Sendable {
  public struct Underlay: Sendable {
    public var interface: String
    public var prefixLength = 24
    public var gateway: IPv4Address?
    public var mac: MACAddress?
  }
  public struct Uplink: Sendable {
    public var interface: String
    public var mac: MACAddress?
    /// The external network's MTU: the largest IPv4 packet sent there (default 1500).
    public var mtu = 1500
  }
  public enum Role: String, Sendable { case compute, network }
  public var name: String
  public var role: Role
  public var tunnelIP: IPv4Address
  public var dvrHostMAC: MACAddress
  public var controlSocket = ControlProtocol.defaultSocketPath
  public var stateFile = "/var/lib/gannet/state.json"
  public var workers = 1
  /// CPU of each worker (one per worker), or nil to let the kernel place them.
  public var cores: [Int]? = nil
  public var underlayMTU = 1500
  public var underlay: Underlay?
  public var uplink: Uplink?
  public var maxSessions = 1 << 20
  public var natTimeouts = NATTimeouts()
  /// Security groups' connection table: size and idle timeouts.
  public var maxConnections = DaemonDefaults.maxConnections
  public var conntrackTimeouts = ConnTrackTimeouts()
  public var dpdkEnabled = false
  public var dpdkMemoryMB = 1024
  /// A worker that found no packet for a while sleeps this long before polling again
  /// (0: pure busy polling, for dedicated cores).
  public var idleSleepMicroseconds: UInt32 = 0
  /// The Prometheus endpoint's address and port, or nil for none.
  public var metricsListen: (host: String, port: Int)? = nil

  public static func load(path: String) throws(ControlError) -> DaemonConfig {
    guard let data = Persistence.readFile(path) else {
      throw ControlError("config", "cannot read config file \(path)")
    }
    return try parse(data, source: path)
  }

  public static func parse(_ data: Data, source: String) throws(ControlError) -> DaemonConfig {
    var o = try StrictObject(json: data, context: source)
    guard var node = try o.optionalObject("node") else { throw .bad("\(source): field 'node': missing") }
    let name = try node.identifier("name")
    let roleText = try node.string("role")
    guard let role = Role(rawValue: roleText) else { throw .bad("\(source).node: field 'role': '\(roleText)' is not compute or network") }
    guard let tunnel = try node.optionalIPv4("tunnel_ip") else { throw .bad("\(source).node: field 'tunnel_ip': missing") }
    guard tunnel.isUnicastHost else { throw .bad("\(source).node: field 'tunnel_ip': \(tunnel) is not a unicast host address") }
    let mac = try node.mac("dvr_host_mac")
    guard mac.isUnicast, mac != .zero else { throw .bad("\(source).node: field 'dvr_host_mac': \(mac) is not a unicast MAC") }
    try node.finish()
    var c = DaemonConfig(name: name, role: role, tunnelIP: tunnel, dvrHostMAC: mac)
    if let s = try o.optionalString("control_socket") { c.controlSocket = s }
    if let s = try o.optionalString("state_file") { c.stateFile = s }
    if let w = try o.optionalInt("workers", 1...64) { c.workers = w }
    if let list = try o.optionalList("cores") {
      let cpus = list.compactMap { ($0 as? NSNumber).flatMap { StrictObject.isBool($0) ? nil : Int(exactly: $0.doubleValue) } }
      let ncpu = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
      guard cpus.count == list.count, cpus.allSatisfy({ (0..<ncpu).contains($0) }) else {
        throw .bad("\(source): field 'cores': expected a list of CPU numbers 0…\(ncpu - 1)")
      }
      c.cores = cpus
    }
    if let cores = c.cores, cores.count != c.workers {
      throw .bad("\(source): field 'cores': \(cores.count) cores for \(c.workers) workers; give one per worker")
    }
    if let m = try o.optionalInt("underlay_mtu", 576...9216) { c.underlayMTU = m }
    if var u = try o.optionalObject("underlay") {
      let text = try u.string("interface")
      do { _ = try PortSpec(parsing: text) } catch { throw .bad("\(source).underlay: field 'interface': \(error.message)") }
      var underlay = Underlay(interface: text)
      if let p = try u.optionalInt("prefix_length", 1...32) { underlay.prefixLength = p }
      underlay.gateway = try u.optionalIPv4("gateway")
      underlay.mac = try u.optionalMAC("mac")
      if let m = underlay.mac, !m.isUnicast || m == .zero {
        throw .bad("\(source).underlay: field 'mac': \(m) is not a unicast MAC")
      }
      try u.finish()
      c.underlay = underlay
    }
    if var u = try o.optionalObject("uplink") {
      let text = try u.string("interface")
      do { _ = try PortSpec(parsing: text) } catch { throw .bad("\(source).uplink: field 'interface': \(error.message)") }
      var uplink = Uplink(interface: text)
      uplink.mac = try u.optionalMAC("mac")
      if let m = try u.optionalInt("mtu", 576...9216) { uplink.mtu = m }
      if let m = uplink.mac, !m.isUnicast || m == .zero { throw .bad("\(source).uplink: field 'mac': \(m) is not a unicast MAC") }
      try u.finish()
      c.uplink = uplink
    }
    if let u = c.underlay, let up = c.uplink,
       let shared = Set((try? PortSpec(parsing: u.interface))?.hostResources ?? [])
         .intersection((try? PortSpec(parsing: up.interface))?.hostResources ?? []).sorted().first {
      throw .bad("\(source): fields 'underlay' and 'uplink' both use \(shared)")
    }
    if var n = try o.optionalObject("nat") {
      if let v = try n.optionalInt("max_sessions", 1024...(1 << 26)) { c.maxSessions = v }
      var t = NATTimeouts()
      if let v = try n.optionalInt("tcp_established_s", 1...86_400 * 7) { t.tcpEstablished = UInt32(v) }
      if let v = try n.optionalInt("tcp_transitory_s", 1...86_400) { t.tcpTransitory = UInt32(v) }
      if let v = try n.optionalInt("udp_s", 1...86_400) { t.udp = UInt32(v) }
      if let v = try n.optionalInt("icmp_s", 1...86_400) { t.icmp = UInt32(v) }
      try n.finish()
      c.natTimeouts = t
    }
    if var n = try o.optionalObject("conntrack") {
      if let v = try n.optionalInt("max_connections", 1024...(1 << 26)) { c.maxConnections = v }
      var t = ConnTrackTimeouts()
      for (i, name) in TCPTracking.names.enumerated() where i > 0 {
        if let v = try n.optionalInt("tcp_\(name.lowercased())_s", 1...86_400 * 30) { t.tcp[i] = UInt32(v) }
      }
      if let v = try n.optionalInt("udp_s", 1...86_400) { t.udp = UInt32(v) }
      if let v = try n.optionalInt("udp_stream_s", 1...86_400) { t.udpStream = UInt32(v) }
      if let v = try n.optionalInt("icmp_s", 1...86_400) { t.icmp = UInt32(v) }
      if let v = try n.optionalInt("other_s", 1...86_400) { t.other = UInt32(v) }
      try n.finish()
      c.conntrackTimeouts = t
    }
    if let i = try o.optionalInt("idle_sleep_us", 0...100_000) { c.idleSleepMicroseconds = UInt32(i) }
    if var m = try o.optionalObject("metrics") {
      guard let text = try m.optionalString("listen") else { throw .bad("\(source).metrics: field 'listen' is required (e.g. \"127.0.0.1:9477\")") }
      let parts = text.split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count == 2, IPv4Address(String(parts[0])) != nil, let port = Int(parts[1]), (1...65535).contains(port) else {
        throw .bad("\(source).metrics: field 'listen': '\(text)' is not IPv4:port (e.g. \"127.0.0.1:9477\")")
      }
      try m.finish()
      c.metricsListen = (String(parts[0]), port)
    }
    if var d = try o.optionalObject("dpdk") {
      c.dpdkEnabled = try d.optionalBool("enabled") ?? false
      c.dpdkMemoryMB = try d.optionalInt("memory_mb", 128...65536) ?? 1024
      try d.finish()
    }
    try o.finish()
    return c
  }
}
