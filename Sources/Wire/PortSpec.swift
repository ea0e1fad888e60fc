// The one port-spec grammar: the control protocol, the config file and the I/O layer
// (which opens ports, `IO/PortSpec.swift`) all parse with it.

/// Why a port spec was refused: what is wrong and which forms are accepted.
public struct PortSpecError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// How an operator names a port, on the command line and in config files:
///
///     af-packet:IFNAME                 AF_PACKET TPACKET_V3 rings on a Linux interface
///     dpdk:VDEV[,KEY=VALUE…]           a DPDK port, e.g. dpdk:net_pcap0,rx_pcap=w1.pcap,infinite_rx=1
///                                      or dpdk:net_af_packet0,iface=veth0
///     pcap:FILE                        in-memory replay of a pcap (no DPDK), looping
///     pcap-out:FILE                    capture sink writing a pcap
///     null[:NAME]                      discards what it is sent (memory port, no capture); NAME
///                                      tells several apart
///     vhost-user:PATH                  a VM's virtio-net device over vhost-user (DPDK net_vhost):
///                                      gannetd creates the socket PATH, QEMU connects to it
///     vhost-user-client:PATH           the same with QEMU as the socket's server: gannetd connects
///                                      and reconnects when QEMU restarts (OVS's dpdkvhostuserclient)
public enum PortSpec: Equatable, Sendable, CustomStringConvertible {
  case afPacket(interface: String)
  case dpdk(name: String, args: String)
  case vhostUser(path: String, client: Bool)
  case pcapReplay(path: String)
  case pcapWriter(path: String)
  case null(name: String)

  /// Parses a spec; the error says what is wrong and what forms are accepted.
  public init(parsing text: String) throws(PortSpecError) {
    let forms = "expected af-packet:IFNAME, dpdk:VDEV[,ARGS], vhost-user:PATH, vhost-user-client:PATH, pcap:FILE, pcap-out:FILE or null[:NAME]"
    if text == "null" { self = .null(name: ""); return }
    guard let colon = text.firstIndex(of: ":") else { throw PortSpecError("port '\(text)': \(forms)") }
    let kind = text[..<colon], rest = String(text[text.index(after: colon)...])
    guard !rest.isEmpty else { throw PortSpecError("port '\(text)': nothing after '\(kind):'; \(forms)") }
    switch kind {
    case "af-packet", "afpacket":
      guard rest.utf8.count < 16, !rest.contains("/"), !rest.contains(" ") else {
        throw PortSpecError("port '\(text)': '\(rest)' is not a Linux interface name (at most 15 bytes, no '/' or space)")
      }
      self = .afPacket(interface: rest)
    case "dpdk":
      let parts = rest.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
      let name = String(parts[0])   // split with empty subsequences kept never returns []
      guard name.hasPrefix("net_") else {
        throw PortSpecError("port '\(text)': DPDK vdev names start with net_ (net_pcap0, net_null0, net_af_packet0, net_tap0)")
      }
      self = .dpdk(name: name, args: parts.count > 1 ? String(parts[1]) : "")
    case "vhost-user", "vhost-user-client":
      // The path goes into the vdev's argument list (no ','), and into sun_path (108 bytes).
      guard rest.hasPrefix("/"), !rest.contains(","), rest.utf8.count < 108 else {
        throw PortSpecError("port '\(text)': a vhost-user socket is an absolute path of at most 107 bytes without ','")
      }
      self = .vhostUser(path: rest, client: kind == "vhost-user-client")
    case "pcap": self = .pcapReplay(path: rest)
    case "pcap-out": self = .pcapWriter(path: rest)
    case "null": self = .null(name: rest)
    default: throw PortSpecError("port '\(text)': unknown kind '\(kind)'; \(forms)")
    }
  }

  public var description: String {
    switch self {
    case .afPacket(let i): "af-packet:\(i)"
    case .dpdk(let n, let a): a.isEmpty ? "dpdk:\(n)" : "dpdk:\(n),\(a)"
    case .vhostUser(let p, let client): client ? "vhost-user-client:\(p)" : "vhost-user:\(p)"
    case .pcapReplay(let p): "pcap:\(p)"
    case .pcapWriter(let p): "pcap-out:\(p)"
    case .null(let n): n.isEmpty ? "null" : "null:\(n)"
    }
  }

  /// What an open port of this spec holds on this host, for refusing a second holder:
  /// "interface NAME" for every Linux interface it sends or receives on (AF_PACKET, and
  /// DPDK vdevs with `iface=`, `rx_iface=`, `tx_iface=`, `rx_iface_in=`), "DPDK device NAME"
  /// for a vdev, "file PATH" for a pcap writer. Empty for what may be opened twice.
  public var hostResources: [String] {
    switch self {
    case .afPacket(let i): return ["interface \(i)"]
    case .dpdk(let n, let a):
      var out = ["DPDK device \(n)"]
      for kv in a.split(separator: ",") {
        let parts = kv.split(separator: "=", maxSplits: 1)
        if parts.count == 2, ["iface", "rx_iface", "tx_iface", "rx_iface_in"].contains(String(parts[0])) {
          out.append("interface \(parts[1])")
        }
      }
      return Array(Set(out)).sorted()
    case .pcapWriter(let p): return ["file \(p)"]
    case .vhostUser(let p, _): return ["socket \(p)"]
    case .pcapReplay, .null: return []
    }
  }

  public var needsDPDK: Bool {
    switch self {
    case .dpdk, .vhostUser: true
    case .afPacket, .pcapReplay, .pcapWriter, .null: false
    }
  }

  /// The DPDK vdev a vhost-user port runs as: `net_vhost` and a hash of its socket path,
  /// so that the same path always names the same device and two paths never one.
  public static func vhostVdevName(path: String) -> String {
    var h: UInt32 = 0x811c_9dc5   // FNV-1a
    for b in path.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
    let hex = String(h, radix: 16)
    return "net_vhost" + String(repeating: "0", count: 8 - hex.count) + hex
  }

  /// Replay, writer and null ports have one TX queue: one worker may use them.
  public var singleQueue: Bool {
    switch self {
    case .pcapReplay, .pcapWriter, .null: true
    case .afPacket, .dpdk, .vhostUser: false
    }
  }
}
