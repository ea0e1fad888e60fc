import CDPDKShim
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Opening and closing what a spec names (the grammar is `Wire.PortSpec`).
extension PortSpec {
  /// Closes a port opened from this spec, and for DPDK removes the vdev so that its name
  /// can be used again.
  public func close(_ port: Port) {
    port.close()
    if case .dpdk(let name, _) = self { DPDK.uninitVdev(name) }
    if case .vhostUser(let path, _) = self { DPDK.uninitVdev(Self.vhostVdevName(path: path)) }
  }

  /// Opens the port with one TX queue per worker. A DPDK spec needs the EAL initialized
  /// and an mbuf pool. Replay, writer and null ports serve a single worker.
  public func open(mbufPool: OpaquePointer? = nil, replayLimit: Int? = nil, txQueues: Int = 1) throws(IOError) -> Port {
    switch self {
    case .afPacket(let i): return .afPacket(try AFPacketPort.open(interface: i, txQueues: txQueues))
    case .dpdk(let n, let a):
      guard let mbufPool else { throw IOError("port \(self): DPDK is not initialized") }
      return .dpdk(try DPDKPort.open(name: n, args: a, pool: mbufPool, txQueues: txQueues))
    case .vhostUser(let path, let client):
      // One queue pair per worker (the guest enables as many as it negotiates; a queue it
      // does not use stays empty). A guest not connected yet, gone or back never blocks a
      // worker: net_vhost receives nothing and drops what it cannot send (counted). A
      // client reconnects by itself when the guest's server comes back.
      guard let mbufPool else { throw IOError("port \(self): DPDK is not initialized") }
      // A socket left behind by an earlier gannetd would make the server's bind fail.
      var st = stat()
      if !client, lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
      let directory = String(path[..<path.lastIndex(of: "/")!])
      var dir = stat()
      guard directory.isEmpty || (stat(directory, &dir) == 0 && dir.st_mode & S_IFMT == S_IFDIR) else {
        throw IOError("port \(self): directory \(directory) does not exist")
      }
      // tso=1: the guest may send TSO super-frames (segmented on receive, DPDKSuperFrames).
      let args = "iface=\(path),client=\(client ? 1 : 0),queues=\(txQueues),tso=1"
      let name = Self.vhostVdevName(path: path)
      do { return .dpdk(try DPDKPort.open(name: name, args: args, pool: mbufPool, txQueues: txQueues, vhost: true)) } catch {
        DPDK.uninitVdev(name)   // nothing half-made stays behind for the next attempt
        throw error
      }
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
