import ArgumentParser
import Buffers
import Foundation
import Synchronization
import IO
import Wire

/// Sends and receives frames through any Gannet port backend: the tool the I/O tests run
/// inside network namespaces (as a child process, since DPDK's EAL starts once per
/// process), and a quick way for an operator to check that a port works.
@main
struct GannetIO: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gannet-io",
    abstract: "Send or receive raw frames through a Gannet port (af-packet, dpdk, pcap).",
    subcommands: [Send.self, Receive.self, Bridge.self])
}

struct PortOptions: ParsableArguments {
  @Option(help: "Port spec: af-packet:IFNAME, dpdk:VDEV[,ARGS], pcap:FILE, pcap-out:FILE.")
  var port: String

  /// Opens the port, starting DPDK first when the spec needs it.
  func open() throws -> IO.Port { try Self.open([port])[0] }

  /// Opens ports, starting DPDK once first when any spec needs it.
  static func open(_ texts: [String]) throws -> [IO.Port] {
    let specs = try texts.map { try PortSpec(parsing: $0) }
    var pool: OpaquePointer? = nil
    if specs.contains(where: \.needsDPDK) {
      try DPDK.initialize(arguments: DPDK.ealArguments(mode: DPDK.detectMemoryMode(), memoryMB: 512))
      pool = try DPDK.createPool(name: "io", count: 8192)
    }
    return try specs.map { try $0.open(mbufPool: pool) }
  }
}

extension GannetIO {
  struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Send every frame of a pcap file through the port, in order.",
      discussion: "Example: gannet-io send --port af-packet:veth0 --pcap frames.pcap")
    @OptionGroup var options: PortOptions
    @Option(help: "The frames to send.") var pcap: String

    func run() throws {
      let store = try FrameStore(pcapFile: pcap)
      let port = try options.open()
      let pool = NativePool(count: 4096)
      let releaser = BufferReleaser(pool: pool)
      var v = PacketVector.allocate()
      var sent = 0
      var i = 0
      while i < store.count {
        while i < store.count && v.freeSlots > 0 {
          let (p, n) = store.frame(i)
          guard let b = pool.alloc() else { break }
          (b + pool.headroom).copyMemory(from: p, byteCount: n)
          v.append(Packet(data: b + pool.headroom, buffer: b, length: UInt32(n), inPort: 0, flags: 0))
          i += 1
        }
        sent += port.tx(v.packets, count: v.count, releaser: releaser)
        v.count = 0
      }
      usleep(200_000)   // let the kernel or PMD drain its ring before the port closes
      print("sent \(sent) of \(store.count)")
      port.close()
      v.deallocate()
      if sent != store.count { throw ExitCode(1) }
    }
  }

  struct Receive: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Receive frames of one EtherType (after any VLAN tags) and write them to a pcap.",
      discussion: """
        Prints "ready" once the port is open, then polls until --count matching frames arrived or
        --timeout passed. Exits 0 only when all arrived.
        Example: gannet-io receive --port af-packet:veth1 --ether-type 0x88b5 --count 50 --out rx.pcap
        """)
    @OptionGroup var options: PortOptions
    @Option(help: "EtherType to keep, e.g. 0x88b5 (the IEEE local experimental type).") var etherType: String = "0x88b5"
    @Option(help: "How many frames to wait for.") var count: Int
    @Option(help: "Seconds to wait at most.") var timeout: Double = 10
    @Option(help: "Where to write the received frames.") var out: String

    func run() throws {
      guard let want = UInt16(etherType.hasPrefix("0x") ? String(etherType.dropFirst(2)) : etherType, radix: 16) else {
        throw ValidationError("--ether-type: not a hex number: \(etherType)")
      }
      let port = try options.open()
      let writer = try PcapWriterPort.open(path: out)
      let pool = NativePool(count: 4096)
      let releaser = BufferReleaser(pool: pool)
      var v = PacketVector.allocate()
      print("ready")
      fflush(nil)   // flushes every stream, stdout among them
      var got = 0
      let deadline = Date().addingTimeInterval(timeout)
      var keep = PacketVector.allocate()
      while got < count && Date() < deadline {
        let n = port.rx(into: &v, max: PacketVector.capacity, inPort: 0, pool: pool)
        if n == 0 { usleep(200); continue }
        for k in 0..<v.count {
          let p = v.packets[k]
          if let e = try? EthernetHeader(validating: p.data, length: Int(p.length)), e.etherType == want {
            keep.append(p)
          } else {
            releaser.release(p)
          }
        }
        v.count = 0
        got += writer.tx(keep.packets, count: keep.count, releaser: releaser)
        keep.count = 0
      }
      writer.close()
      port.close()
      print("received \(got) of \(count)")
      if got < count { throw ExitCode(1) }
    }
  }

  struct Bridge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Forward frames both ways between two ports until stopped (SIGTERM, SIGINT) or --seconds.",
      discussion: """
        With a virtio-user port on one side and a veth into a network namespace on the other,
        the namespace's kernel is the network stack of a vhost-user guest (the tests' guest).
        Prints "ready" once both ports are open, and on exit the frames forwarded each way.
        Example: gannet-io bridge --port dpdk:net_virtio_user0,path=/run/gannet/vm1.sock --peer af-packet:vm1-kernel
        """)
    @OptionGroup var options: PortOptions
    @Option(help: "The other port.") var peer: String
    @Option(help: "Seconds to run at most (default: until stopped).") var seconds: Double?

    func run() throws {
      let ports = try PortOptions.open([options.port, peer])
      let pool = NativePool(count: 4096)
      let releaser = BufferReleaser(pool: pool)
      var v = PacketVector.allocate()
      var forwarded = [0, 0]
      signal(SIGTERM) { _ in GannetIO.Bridge.stop.store(true, ordering: .relaxed) }
      signal(SIGINT) { _ in GannetIO.Bridge.stop.store(true, ordering: .relaxed) }
      print("ready")
      fflush(nil)
      let deadline = seconds.map { Date().addingTimeInterval($0) }
      while !Self.stop.load(ordering: .relaxed), deadline.map({ Date() < $0 }) ?? true {
        var moved = 0
        for (from, to) in [(0, 1), (1, 0)] {
          let n = ports[from].rx(into: &v, max: PacketVector.capacity, inPort: 0, pool: pool)
          guard n > 0 else { continue }
          moved += n
          forwarded[from] += ports[to].tx(v.packets, count: v.count, releaser: releaser)
          v.count = 0
        }
        if moved == 0 { usleep(500) }   // a test guest: idle, it leaves the CPU to the others
      }
      for p in ports { p.close() }
      v.deallocate()
      print("forwarded \(forwarded[0]) port->peer, \(forwarded[1]) peer->port")
    }

    nonisolated(unsafe) static let stop = Atomic<Bool>(false)
  }
}
