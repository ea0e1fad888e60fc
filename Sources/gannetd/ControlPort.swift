import Buffers
import Control
import IO
import NodeConfig
import Wire

/// A port the control thread transmits on besides the workers (the underlay, the uplink):
/// opened with one TX queue per worker plus one of the control thread's own, with a small
/// buffer pool for the frames it sends (ARP requests, gratuitous ARP).
///
/// Thread safety: control thread only (workers use their own queues).
struct ControlPort {
  let spec: PortSpec
  let port: IO.Port
  let mac: MACAddress
  private let txQueue: Int
  private let pool: NativePool
  private let releaser: BufferReleaser

  /// `role` names the port in errors ("underlay", "uplink"); `mac` overrides the interface's.
  init(role: String, interface: String, mac: MACAddress?, workers: Int, mbufPool: OpaquePointer?) throws(ControlError) {
    let spec: PortSpec
    do { spec = try PortSpec(parsing: interface) } catch { throw .bad("\(role): \(error.message)") }
    if spec.needsDPDK && mbufPool == nil {
      throw ControlError("config", "\(role) \(interface): DPDK is not enabled in this gannetd's config (dpdk.enabled)")
    }
    let port: IO.Port
    do { port = try spec.open(mbufPool: mbufPool, txQueues: workers + 1) } catch {
      throw ControlError("io", "\(role) \(interface): \(error.message) (the \(role) needs one TX queue per worker plus one "
        + "for the control thread; for net_af_packet give qpairs=\(workers + 1))")
    }
    guard let m = mac ?? spec.hardwareAddress(of: port) else {
      spec.close(port)
      throw ControlError("config", "\(role) \(interface): cannot read its MAC address; set \(role).mac")
    }
    self.spec = spec
    self.port = port
    self.mac = m
    txQueue = workers
    pool = NativePool(count: 64)
    releaser = BufferReleaser(pool: pool)
  }

  func close() {
    spec.close(port)
    releaser.destroy()
    pool.destroy()
  }

  /// Sends one broadcast ARP request: `sender` at `from` asks for `target` (`sender ==
  /// target`: a gratuitous ARP, RFC 5227 §3).
  func sendARP(from: MACAddress, sender: IPv4Address, target: IPv4Address) {
    guard let b = pool.alloc() else { return }
    let f = b + pool.headroom
    f.initializeMemory(as: UInt8.self, repeating: 0, count: 60)
    f.storeMAC(.broadcast, at: 0)
    f.storeMAC(from, at: 6)
    f.storeBE16(EtherType.arp, at: 12)
    let arp = ARPHeader(unchecked: f + 14)
    arp.fillFixedFields()
    arp.operation = ARPHeader.request
    arp.senderMAC = from
    arp.senderIP = sender
    arp.targetMAC = .zero
    arp.targetIP = target
    var p = Packet(data: f, buffer: b, length: 60, inPort: 0, flags: 0)
    _ = port.tx(&p, count: 1, releaser: releaser, queue: txQueue)
  }
}
