import Buffers
import CDPDKShim
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The process-wide DPDK environment (EAL).
///
/// `rte_eal_init` may run once per process, so `initialize` refuses a second call; tests
/// that use DPDK start `gannetd`, `gannet-bench` or `gannet-io` as a child process.
/// Call from the main thread before any worker starts.
public enum DPDK {
  private static let initialized = Atomic<Bool>(false)

  /// How EAL memory is backed; every figure Gannet reports says which.
  public enum MemoryMode: String, Sendable {
    case hugepages, noHuge = "no-huge"
  }

  /// Hugepages are used when the kernel has free ones and a hugetlbfs is mounted.
  public static func detectMemoryMode() -> MemoryMode {
    guard let meminfo = try? readText("/proc/meminfo"), let mounts = try? readText("/proc/mounts") else { return .noHuge }
    let free = meminfo.split(separator: "\n").first { $0.hasPrefix("HugePages_Free:") }
      .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    let mounted = mounts.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(2).first == "hugetlbfs" }
    return free >= 256 && mounted ? .hugepages : .noHuge
  }

  /// EAL arguments for one process on `lcores`, with its own file prefix (several
  /// processes may run at once) and no PCI scan (vdevs only unless `pci`).
  public static func ealArguments(lcores: String = "0", mode: MemoryMode, memoryMB: Int = 1024,
                                  pci: Bool = false, extra: [String] = []) -> [String] {
    var a = ["gannet", "-l", lcores, "--file-prefix", "gannet-\(getpid())", "--log-level", "*:warning"]
    switch mode {
    case .hugepages: a += ["--in-memory"]
    case .noHuge: a += ["--no-huge", "-m", String(memoryMB), "--no-shconf"]
    }
    if !pci { a.append("--no-pci") }
    return a + extra
  }

  /// Runs `rte_eal_init` with `arguments` (argv[0] included).
  public static func initialize(arguments: [String]) throws(IOError) {
    guard !initialized.exchange(true, ordering: .acquiringAndReleasing) else {
      throw IOError("DPDK EAL is already initialized in this process (rte_eal_init runs once per process)")
    }
    var cargs = arguments.map { strdup($0) }
    let rc = cargs.withUnsafeMutableBufferPointer { cdpdk_eal_init(Int32($0.count), $0.baseAddress) }
    // EAL keeps pointers into argv; the copies are leaked on purpose.
    if rc < 0 {
      let e = cdpdk_errno()
      throw IOError("rte_eal_init failed: \(String(cString: cdpdk_strerror(e))) (args: \(arguments.joined(separator: " ")))")
    }
    _ = cargs
  }

  /// Removes a vdev created by `DPDKPort.open` after its port was closed, so that the
  /// name can be used again.
  public static func uninitVdev(_ name: String) { _ = cdpdk_vdev_uninit(name) }

  /// Releases EAL resources at process exit.
  public static func cleanup() { _ = cdpdk_eal_cleanup() }

  /// Registers the calling thread with the EAL (`rte_thread_register`): it gets an lcore id,
  /// so mbuf allocations and frees on it go through the mempool's per-lcore cache instead of
  /// the ring every thread shares (a worker without one pays a compare-and-swap on that ring
  /// per burst, and two such workers contend for it). Each worker thread calls this once
  /// before polling, when the EAL runs; returns false when no lcore id is left.
  @discardableResult
  public static func registerThread() -> Bool {
    guard initialized.load(ordering: .acquiring) else { return false }
    return cdpdk_thread_register() == 0
  }

  /// Undoes `registerThread`. The same thread, when it stops polling.
  public static func unregisterThread() {
    guard initialized.load(ordering: .acquiring) else { return }
    cdpdk_thread_unregister()
  }

  /// Creates an mbuf pool of `count` buffers on the caller's NUMA socket.
  public static func createPool(name: String, count: Int, cacheSize: Int = 256, dataRoom: Int = 2048 + 128) throws(IOError) -> OpaquePointer {
    guard let mp = cdpdk_pktmbuf_pool_create(name, UInt32(count), UInt32(cacheSize), UInt16(dataRoom), cdpdk_socket_id()) else {
      throw IOError("rte_pktmbuf_pool_create(\(name), \(count)) failed: \(String(cString: cdpdk_strerror(cdpdk_errno())))")
    }
    return mp
  }

  static func readText(_ path: String) throws -> String {
    guard let f = fopen(path, "r") else { throw IOError("cannot open \(path)") }
    defer { fclose(f) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = fread(&buf, 1, buf.count, f)
      if n <= 0 { break }
      out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
  }
}

/// A DPDK ethdev port with one TX queue per worker. It has as many RX queues as TX queues
/// when the device offers them (a device that spreads input over its queues, such as
/// net_af_packet with qpairs=N, must have every queue polled): one worker reads them all,
/// or each of several workers its own share (`rx(firstQueue:queueStep:)`, `PollEntry`).
///
/// Zero-copy for mbufs: received mbufs become packets as they are, and packets that are
/// mbufs go to `rte_eth_tx_burst` as they are. A native-pool packet is copied into an
/// mbuf of this port's pool on the way out.
@frozen
public struct DPDKPort {
  public let portID: UInt16
  public let pool: OpaquePointer
  public let counters: CounterBlock
  /// `PacketVector.capacity` mbuf pointers per TX queue, then as many per RX queue (the
  /// receive scratch of the worker whose first queue it is).
  @usableFromInline let scratch: UnsafeMutablePointer<OpaquePointer?>
  public let txQueues: Int
  public let rxQueues: Int
  /// The device queue each worker's TX queue sends on: itself, except on a vhost-user port
  /// whose guest enabled fewer queues than there are workers — there the workers share the
  /// enabled ones (the vhost library serializes enqueues to one ring with its per-ring
  /// lock), instead of sending into rings the guest never reads. Written by the control
  /// thread (`refreshVhostQueues`), read by workers once per burst.
  @usableFromInline let txMap: UnsafeMutablePointer<Atomic<UInt16>>
  /// A vhost-user port, and the TX queues its guest has enabled (bit q; control thread).
  public let vhost: Bool
  let txEnabled: UnsafeMutablePointer<UInt64>
  /// Per RX queue (the worker whose first queue it is): received mbufs not yet handed on
  /// and the super-frame being segmented (see `receiveSuperFrame`).
  @usableFromInline let backlog: UnsafeMutablePointer<RxBacklog>
  /// A vhost-user guest that takes TSO super-frames (it negotiated GUEST_TSO4 and GUEST_CSUM):
  /// written by the control thread (`refreshVhostQueues`), read by workers once per burst.
  @usableFromInline let guestTSO: UnsafeMutablePointer<Atomic<Bool>>
  /// Per TX queue, the mbufs of the super-frame being chained (`superFrameForGuest`).
  @usableFromInline let chain: UnsafeMutablePointer<OpaquePointer?>

  /// Creates the vdev `name` with `args` (e.g. "net_pcap0", "rx_pcap=w1.pcap,infinite_rx=1")
  /// unless a port of that name exists, then configures and starts it.
  public static func open(name: String, args: String, pool: OpaquePointer, txQueues: Int = 1,
                          rxDescriptors: Int = 1024, txDescriptors: Int = 1024, vhost: Bool = false) throws(IOError) -> DPDKPort {
    var id: UInt16 = 0
    if cdpdk_eth_dev_get_port_by_name(name, &id) != 0 {
      let rc = cdpdk_vdev_init(name, args)
      guard rc == 0 else { throw IOError("rte_vdev_init(\(name), \"\(args)\") failed: \(String(cString: cdpdk_strerror(-rc)))") }
      guard cdpdk_eth_dev_get_port_by_name(name, &id) == 0 else { throw IOError("vdev \(name) created but has no ethdev port") }
    }
    func check(_ rc: Int32, _ what: String) throws(IOError) {
      guard rc >= 0 else { throw IOError("port \(name): \(what) failed: \(String(cString: cdpdk_strerror(-rc)))") }
    }
    let socket = cdpdk_eth_dev_socket_id(id)
    let maxTx = cdpdk_eth_dev_max_tx_queues(id)
    if maxTx >= 0 && Int(maxTx) < txQueues {
      throw IOError("port \(name) offers \(maxTx) TX queue(s) but gannetd has \(txQueues) workers, each needing its own "
        + "(for net_af_packet add qpairs=\(txQueues) to the spec)")
    }
    let maxRx = cdpdk_eth_dev_max_rx_queues(id)
    let rxQueues = maxRx > 0 ? min(Int(maxRx), txQueues) : 1
    try check(cdpdk_eth_dev_configure_default(id, UInt16(rxQueues), UInt16(txQueues)),
              "rte_eth_dev_configure with \(rxQueues) rx and \(txQueues) tx queues")
    for q in 0..<rxQueues {
      try check(cdpdk_eth_rx_queue_setup(id, UInt16(q), UInt16(rxDescriptors), socket, pool), "rx queue \(q) setup")
    }
    for q in 0..<txQueues {
      try check(cdpdk_eth_tx_queue_setup(id, UInt16(q), UInt16(txDescriptors), socket), "tx queue \(q) setup")
    }
    try check(cdpdk_eth_dev_start(id), "rte_eth_dev_start")
    _ = cdpdk_eth_promiscuous_enable(id)   // not every vdev supports it; a switch port wants it where it can
    return DPDKPort(portID: id, pool: pool, counters: CounterBlock(count: PortCounter.blockSize * txQueues),
                    scratch: .allocate(capacity: PacketVector.capacity * (txQueues + rxQueues)), txQueues: txQueues, rxQueues: rxQueues,
                    vhost: vhost)
  }

  @usableFromInline
  init(portID: UInt16, pool: OpaquePointer, counters: CounterBlock, scratch: UnsafeMutablePointer<OpaquePointer?>,
       txQueues: Int, rxQueues: Int, vhost: Bool) {
    self.portID = portID
    self.pool = pool
    self.counters = counters
    self.scratch = scratch
    self.txQueues = txQueues
    self.rxQueues = rxQueues
    self.vhost = vhost
    txMap = .allocate(capacity: txQueues)
    for q in 0..<txQueues { (txMap + q).initialize(to: Atomic(UInt16(q))) }
    txEnabled = .allocate(capacity: 1)
    txEnabled.initialize(to: 0)
    guestTSO = .allocate(capacity: 1)
    guestTSO.initialize(to: Atomic(false))
    chain = .allocate(capacity: vhost ? PacketVector.capacity * txQueues : 1)
    backlog = .allocate(capacity: rxQueues)
    for q in 0..<rxQueues {
      // Only a vhost-user guest sends super-frames (net_vhost with tso=1).
      (backlog + q).initialize(to: RxBacklog(buffer: vhost ? .allocate(byteCount: Self.superFrameCapacity, alignment: 64) : nil))
    }
  }

  /// A vhost-user port: takes in the guest's queue changes since the last call and re-maps
  /// the workers' TX queues onto the enabled ones (worker q: queue q when enabled, else
  /// enabled queue q mod their number). A guest that is gone (link down) enables nothing:
  /// the map returns to one queue per worker. Control thread, periodically.
  public func refreshVhostQueues() {
    guard vhost else { return }
    var enabled = txEnabled.pointee
    if cdpdk_eth_link_up(portID) == 0 { enabled = 0 }
    var queue: UInt16 = 0
    var rx: Int32 = 0, enable: Int32 = 0
    while cdpdk_vhost_queue_event(portID, &queue, &rx, &enable) == 0 {
      guard rx == 0, queue < 64 else { continue }   // the guest's RX rings: what this port sends on
      if enable != 0 { enabled |= 1 << UInt64(queue) } else { enabled &= ~(1 << UInt64(queue)) }
    }
    txEnabled.pointee = enabled
    guestTSO.pointee.store(cdpdk_vhost_guest_tso4(portID) == 1, ordering: .relaxed)
    let on = (0..<min(64, txQueues)).filter { enabled & (1 << UInt64($0)) != 0 }
    for q in 0..<txQueues {
      let target = on.isEmpty || on.contains(q) ? q : on[q % on.count]
      txMap[q].store(UInt16(target), ordering: .relaxed)
    }
  }

  @inlinable
  public func rx(into v: inout PacketVector, max room: Int, inPort: UInt16, firstQueue: Int = 0, queueStep: Int = 1) -> Int {
    // Each first queue (one per worker sharing the port) has its own scratch and counters.
    guard room > 0, firstQueue < rxQueues else { return 0 }
    let scratch = self.scratch + (txQueues &+ firstQueue) &* PacketVector.capacity
    let backlog = self.backlog + firstQueue
    // What the last call left (after a super-frame whose segments filled it), else a burst.
    var i = backlog.pointee.start
    var n = backlog.pointee.end
    if i == n {
      i = 0
      n = 0
      var q = firstQueue
      while q < rxQueues && n < room {
        n &+= Int(cdpdk_rx_burst(portID, UInt16(truncatingIfNeeded: q), scratch + n, UInt16(truncatingIfNeeded: room &- n)))
        q &+= queueStep
      }
    }
    var bytes = 0
    var got = 0
    while i < n && got < room {
      let m = scratch[i].unsafelyUnwrapped
      guard cdpdk_mbuf_is_plain(m) else {
        let (k, b, done) = receiveSuperFrame(m, into: &v, budget: room &- got, inPort: inPort, queue: firstQueue)
        got &+= k
        bytes &+= b
        guard done else { break }
        i &+= 1
        continue
      }
      let len = cdpdk_mbuf_data_len(m)
      v.append(Packet(data: cdpdk_mbuf_data(m), buffer: UnsafeMutableRawPointer(m), length: UInt32(len),
                      inPort: inPort, flags: Packet.Flag.mbuf))
      bytes &+= Int(len)
      got &+= 1
      i &+= 1
    }
    backlog.pointee.start = i
    backlog.pointee.end = n
    counters.countRx(got, bytes: bytes, queue: firstQueue)
    return got
  }

  @inlinable
  public func tx(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser, queue q: Int) -> Int {
    let scratch = self.scratch + q &* PacketVector.capacity
    var n = 0
    var bytes = 0
    let tso = vhost && guestTSO.pointee.load(ordering: .relaxed)
    var i = 0
    while i < count {
      let p = packets[i]
      // Segments of one super-frame go to a guest that takes TSO as one super-frame again.
      if tso && p.flags & Packet.Flag.segment != 0 && i &+ 1 < count && packets[i &+ 1].flags & Packet.Flag.segment != 0 {
        let s = superFrameForGuest(packets + i, count: count &- i, releaser: releaser, queue: q)
        if s.n > 0 {
          if let m = s.mbuf {
            scratch[n] = m
            n &+= 1
            bytes &+= s.bytes
          }
          i &+= s.n
          continue
        }
      }
      i &+= 1
      let len = Int(p.length)
      if p.isMbuf {
        cdpdk_mbuf_set_data_ptr(p.mbuf, p.data, UInt16(truncatingIfNeeded: len))
        scratch[n] = p.mbuf
      } else {
        // Copy a native buffer into an mbuf of this port's pool.
        guard let m = cdpdk_mbuf_alloc(pool) else {
          releaser.release(p)
          counters.addDrop(.txNoBuffer, queue: q)
          continue
        }
        guard len <= Int(cdpdk_mbuf_tailroom(m)) else {
          cdpdk_mbuf_free(m)
          releaser.release(p)
          counters.addDrop(.txFrameTooLong, queue: q)
          continue
        }
        let dst = cdpdk_mbuf_data(m)!
        dst.copyMemory(from: p.data, byteCount: len)
        cdpdk_mbuf_set_data_ptr(m, dst, UInt16(truncatingIfNeeded: len))
        releaser.release(p)
        scratch[n] = m
      }
      bytes &+= len
      n &+= 1
    }
    let sent = Int(cdpdk_tx_burst(portID, txMap[q].load(ordering: .relaxed), scratch, UInt16(truncatingIfNeeded: n)))
    if sent < n {
      // Count what the driver did not take and free it (testpmd does the same in io mode).
      var unsentBytes = 0
      for i in sent..<n { unsentBytes &+= Int(cdpdk_mbuf_pkt_len(scratch[i].unsafelyUnwrapped)) }
      cdpdk_mbuf_free_bulk(scratch + sent, UInt32(n &- sent))
      counters.addDrop(.txRingFull, UInt64(n &- sent), queue: q)
      bytes &-= unsentBytes
    }
    counters.countTx(sent, bytes: bytes, queue: q)
    return sent
  }

  public func close() {
    _ = cdpdk_eth_dev_stop(portID)
    _ = cdpdk_eth_dev_close(portID)
    for q in 0..<rxQueues {
      // Mbufs a worker received and had not handed on yet go back to the pool.
      let b = backlog[q], rx = scratch + (txQueues + q) * PacketVector.capacity
      for i in b.start..<b.end { cdpdk_mbuf_free(rx[i]) }
      b.buffer?.deallocate()
    }
    backlog.deallocate()
    guestTSO.deallocate()
    chain.deallocate()
    scratch.deallocate()
    txMap.deinitialize(count: txQueues)
    txMap.deallocate()
    txEnabled.deallocate()
  }
}
