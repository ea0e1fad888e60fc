import CDPDKShim
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// How an operator names a port, on the command line and in config files:
///
///     af-packet:IFNAME                 AF_PACKET TPACKET_V3 rings on a Linux interface
///     dpdk:VDEV[,KEY=VALUE…]           a DPDK port, e.g. dpdk:net_pcap0,rx_pcap=w1.pcap,infinite_rx=1
///                                      or dpdk:net_af_packet0,iface=veth0
///     pcap:FILE                        in-memory replay of a pcap (no DPDK), looping
///     pcap-out:FILE                    capture sink writing a pcap
///     null                             discards what it is sent (memory port, no capture)
public enum PortSpec: Equatable, Sendable, CustomStringConvertible {
  case afPacket(interface: String)
  case dpdk(name: String, args: String)
  case pcapReplay(path: String)
  case pcapWriter(path: String)
  case null

  /// Parses a spec; the error says what is wrong and what forms are accepted.
  public init(parsing text: String) throws(IOError) {
    let forms = "expected af-packet:IFNAME, dpdk:VDEV[,ARGS], pcap:FILE, pcap-out:FILE or null"
    if text == "null" { self = .null; return }
    guard let colon = text.firstIndex(of: ":") else { throw IOError("port '\(text)': \(forms)") }
    let kind = text[..<colon], rest = String(text[text.index(after: colon)...])
    guard !rest.isEmpty else { throw IOError("port '\(text)': nothing after '\(kind):'; \(forms)") }
    switch kind {
    case "af-packet", "afpacket":
      guard rest.utf8.count < 16, !rest.contains("/"), !rest.contains(" ") else {
        throw IOError("port '\(text)': '\(rest)' is not a Linux interface name (at most 15 bytes, no '/' or space)")
      }
      self = .afPacket(interface: rest)
    case "dpdk":
      let parts = rest.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
      let name = String(parts[0])   // split with empty subsequences kept never returns []
      guard name.hasPrefix("net_") else {
        throw IOError("port '\(text)': DPDK vdev names start with net_ (net_pcap0, net_null0, net_af_packet0, net_tap0)")
      }
      self = .dpdk(name: name, args: parts.count > 1 ? String(parts[1]) : "")
    case "pcap": self = .pcapReplay(path: rest)
    case "pcap-out": self = .pcapWriter(path: rest)
    default: throw IOError("port '\(text)': unknown kind '\(kind)'; \(forms)")
    }
  }

  public var description: String {
    switch self {
    case .afPacket(let i): "af-packet:\(i)"
    case .dpdk(let n, let a): a.isEmpty ? "dpdk:\(n)" : "dpdk:\(n),\(a)"
    case .pcapReplay(let p): "pcap:\(p)"
    case .pcapWriter(let p): "pcap-out:\(p)"
    case .null: "null"
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
    case .pcapReplay, .null: return []
    }
  }

  public var needsDPDK: Bool { if case .dpdk = self { true } else { false } }

  /// Closes a port opened from this spec, and for DPDK removes the vdev so that its name
  /// can be used again.
  public func close(_ port: Port) {
    port.close()
    if case .dpdk(let name, _) = self { DPDK.uninitVdev(name) }
  }

  /// Opens the port with one TX queue per worker. A DPDK spec needs the EAL initialized
  /// and an mbuf pool. Replay, writer and null ports serve a single worker.
  public func open(mbufPool: OpaquePointer? = nil, replayLimit: Int? = nil, txQueues: Int = 1) throws(IOError) -> Port {
    switch self {
    case .afPacket(let i): return .afPacket(try AFPacketPort.open(interface: i, txQueues: txQueues))
    case .dpdk(let n, let a):
      guard let mbufPool else { throw IOError("port \(self): DPDK is not initialized") }
      return .dpdk(try DPDKPort.open(name: n, args: a, pool: mbufPool, txQueues: txQueues))
    case .pcapReplay(let p): return .pcapReplay(PcapReplayPort(store: try FrameStore(pcapFile: p), limit: replayLimit))
    case .pcapWriter(let p): return .pcapWriter(try PcapWriterPort.open(path: p))
    case .null: return .memory(MemoryPort(inputCapacity: 1, capture: false))
    }
  }
}

extension PortSpec {
  /// The hardware address of `port` opened from this spec: the Linux interface's for
  /// AF_PACKET (sysfs), the ethdev's for DPDK; nil for ports without one. Control thread.
  public func hardwareAddress(of port: Port) -> MACAddress? {
    switch (self, port) {
    case (.afPacket(let name), _):
      guard let f = fopen("/sys/class/net/\(name)/address", "r") else { return nil }
      defer { fclose(f) }
      var line = [CChar](repeating: 0, count: 64)
      guard fgets(&line, 64, f) != nil else { return nil }
      let text = String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      return MACAddress(text)
    case (_, .dpdk(let p)):
      var b = [UInt8](repeating: 0, count: 6)
      guard cdpdk_eth_macaddr(p.portID, &b) == 0 else { return nil }
      return MACAddress(b[0], b[1], b[2], b[3], b[4], b[5])
    default:
      return nil
    }
  }
}
