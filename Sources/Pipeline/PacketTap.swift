import Buffers
import CPcapShim
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Capture and live trace: what the workers copy out of the data plane while an operator
/// asks for it (`gannetctl capture`, `gannetctl trace start`), one instance per node shared
/// by every worker.
///
/// Off, it costs one load of `mode` per poll round and one test of the round's copy per
/// node vector: no per-packet work. On:
/// - capture copies each frame received on (`captureRX`) or sent to (`captureTX`) the
///   captured interface that libpcap's compiled BPF filter accepts into the worker's
///   capture ring (`TapRing`; a full ring counts the frame as lost, never blocks);
/// - trace marks the next frames received on the traced interface that its filter accepts
///   (`Packet.Flag.traced`, up to the shared budget), and every node records, for each
///   marked packet of its vector, what it decided: the next node or the drop reason, the
///   ports, the snapshot generation and the frame's first bytes as the node left them.
///
/// Settings change only while `mode` is 0 and every worker passed a quiescent state since
/// (`arm`'s caller does: store 0, `QSBR.synchronize`, change, store the new mode), so a
/// worker that saw a mode reads settings no one is writing.
///
/// Thread safety: the `received`/`before`/`after` hooks run on workers (each writes only
/// its own rings and trace table); everything else on the control thread.
@frozen
public struct PacketTap: @unchecked Sendable {
  public static let captureRX: UInt32 = 1
  public static let captureTX: UInt32 = 2
  public static let trace: UInt32 = 4
  /// Frame bytes a trace record keeps: VXLAN's outer headers and the inner ones up to L4.
  public static let traceBytes = 128
  /// Traced packets a worker follows at once.
  public static let inflight = 64

  public let workers: Int
  @usableFromInline let modeWord: UnsafeMutablePointer<Atomic<UInt32>>
  @usableFromInline let budget: UnsafeMutablePointer<Atomic<Int>>
  public let settings: UnsafeMutablePointer<Settings>

  /// What the workers read while `mode` is not 0. Rings and tables: one per worker.
  public struct Settings {
    public var capturePort: Int = -1
    public var captureFilter: UnsafeMutablePointer<bpf_insn>?
    public var captureRings: UnsafeMutablePointer<TapRing>?
    public var tracePort: Int = -1
    public var traceFilter: UnsafeMutablePointer<bpf_insn>?
    public var traceRings: UnsafeMutablePointer<TapRing>?
    /// Per worker: `inflight` buffer addresses, `inflight` ids, then the next sequence number.
    public var traceTables: UnsafeMutablePointer<UInt>?
    public init() {}
  }

  public init(workers: Int) {
    self.workers = workers
    modeWord = .allocate(capacity: 1)
    modeWord.initialize(to: Atomic(0))
    budget = .allocate(capacity: 1)
    budget.initialize(to: Atomic(0))
    settings = .allocate(capacity: 1)
    settings.initialize(to: Settings())
  }

  /// Frees the tap. Control thread, after the workers stopped and the rings were freed.
  public func destroy() {
    modeWord.deinitialize(count: 1)
    modeWord.deallocate()
    budget.deinitialize(count: 1)
    budget.deallocate()
    settings.deinitialize(count: 1)
    settings.deallocate()
  }

  /// The modes on now. Workers read it once per poll round.
  @inlinable public var mode: UInt32 { modeWord.pointee.load(ordering: .acquiring) }

  /// Sets the modes. Control thread; see the type's comment for the protocol.
  public func setMode(_ m: UInt32) { modeWord.pointee.store(m, ordering: .releasing) }

  /// Sets how many more packets a trace marks.
  public func setBudget(_ n: Int) { budget.pointee.store(n, ordering: .relaxed) }
  public var remainingBudget: Int { max(0, budget.pointee.load(ordering: .relaxed)) }

  // MARK: - worker hooks (never inlined into the packet loop: they run only while a tap is on)

  /// Packets `0..<v.count` of `v` were just received on interface `port`.
  @inline(never)
  public func received(_ v: PacketVector, port: UInt16, mode: UInt32, worker: Int, generation: UInt64) {
    let s = settings.pointee
    if mode & Self.captureRX != 0 && Int(port) == s.capturePort, let rings = s.captureRings {
      for i in 0..<v.count where Self.matches(s.captureFilter, v.packets[i]) {
        Self.write(rings[worker], v.packets[i], kind: .received, node: TapRecord.receivedNode, next: TapRecord.noNext, id: 0,
                   worker: worker, generation: generation)
      }
    }
    if mode & Self.trace != 0 && Int(port) == s.tracePort, let rings = s.traceRings, let tables = s.traceTables {
      let table = tables + worker * (2 * Self.inflight + 1)
      for i in 0..<v.count where Self.matches(s.traceFilter, v.packets[i]) {
        guard budget.pointee.subtract(1, ordering: .relaxed).newValue >= 0 else { break }
        v.packets[i].flags |= Packet.Flag.traced
        let id = Self.track(table, v.packets[i].buffer, worker: worker)
        Self.write(rings[worker], v.packets[i], kind: .traced, node: TapRecord.receivedNode, next: NodeID.ethernetInput.rawValue, id: id,
                   worker: worker, generation: generation)
      }
    }
  }

  /// Before node `id` runs `v`: frames to the captured interface at port-output, and the
  /// last record of traced packets at nodes that consume them.
  @inline(never)
  public func before(_ id: NodeID, _ v: PacketVector, mode: UInt32, worker: Int, generation: UInt64) {
    let s = settings.pointee
    if id == .portOutput && mode & Self.captureTX != 0, let rings = s.captureRings {
      for i in 0..<v.count where Int(v.packets[i].outPort) == s.capturePort && Self.matches(s.captureFilter, v.packets[i]) {
        Self.write(rings[worker], v.packets[i], kind: .transmitted, node: id.rawValue, next: TapRecord.noNext, id: 0, worker: worker,
                   generation: generation)
      }
    }
    guard mode & Self.trace != 0, id == .portOutput || id == .errorDrop || id == .natHandoff || id == .l2Flood,
          let rings = s.traceRings, let tables = s.traceTables else { return }
    let table = tables + worker * (2 * Self.inflight + 1)
    for i in 0..<v.count where v.packets[i].flags & Packet.Flag.traced != 0 {
      let p = v.packets[i]
      Self.write(rings[worker], p, kind: .traced, node: id.rawValue, next: TapRecord.noNext, id: Self.finish(table, p.buffer, worker: worker),
                 worker: worker, generation: generation)
    }
  }

  /// After node `id` ran `v`: one record per traced packet, with where it goes next.
  @inline(never)
  public func after(_ id: NodeID, _ v: PacketVector, worker: Int, generation: UInt64) {
    let s = settings.pointee
    guard let rings = s.traceRings, let tables = s.traceTables else { return }
    let table = tables + worker * (2 * Self.inflight + 1)
    for i in 0..<v.count where v.packets[i].flags & Packet.Flag.traced != 0 {
      let p = v.packets[i]
      Self.write(rings[worker], p, kind: .traced, node: id.rawValue, next: v.next[i], id: Self.track(table, p.buffer, worker: worker),
                 worker: worker, generation: generation)
    }
  }

  /// An operator flow (number `flow`) matched the traced packet `p` before the graph:
  /// `consumed` when it dropped or redirected it.
  public func flowDecided(_ p: Packet, flow: UInt16, consumed: Bool, dropped: Bool, worker: Int, generation: UInt64) {
    let s = settings.pointee
    guard let rings = s.traceRings, let tables = s.traceTables else { return }
    let table = tables + worker * (2 * Self.inflight + 1)
    var q = p
    q.context = UInt32(flow)
    if dropped { q.drop = DropReason.operatorFlowDrop.rawValue }
    let id = consumed ? Self.finish(table, p.buffer, worker: worker) : Self.track(table, p.buffer, worker: worker)
    Self.write(rings[worker], q, kind: .traced, node: TapRecord.flowsNode, next: consumed ? TapRecord.noNext : NodeID.ethernetInput.rawValue,
               id: id, worker: worker, generation: generation)
  }

  // MARK: - helpers

  static func matches(_ filter: UnsafeMutablePointer<bpf_insn>?, _ p: Packet) -> Bool {
    guard let filter else { return true }
    return bpf_filter(filter, p.data.assumingMemoryBound(to: UInt8.self), p.length, p.length) != 0
  }

  /// The id of the traced packet in `buffer`, registering it when it is new to this worker.
  static func track(_ table: UnsafeMutablePointer<UInt>, _ buffer: UnsafeMutableRawPointer, worker: Int) -> UInt32 {
    let key = UInt(bitPattern: buffer)
    for i in 0..<inflight where table[i] == key { return UInt32(truncatingIfNeeded: table[inflight + i]) }
    let seq = table[2 * inflight]
    table[2 * inflight] = seq &+ 1
    let slot = Int(seq % UInt(inflight))
    table[slot] = key
    let id = UInt(worker) << 24 | (seq & 0xff_ffff)
    table[inflight + slot] = id
    return UInt32(truncatingIfNeeded: id)
  }

  /// The id of the traced packet in `buffer`, which leaves this worker's graph now.
  static func finish(_ table: UnsafeMutablePointer<UInt>, _ buffer: UnsafeMutableRawPointer, worker: Int) -> UInt32 {
    let id = track(table, buffer, worker: worker)
    let key = UInt(bitPattern: buffer)
    for i in 0..<inflight where table[i] == key { table[i] = 0 }
    return id
  }

  static func write(_ ring: TapRing, _ p: Packet, kind: TapRecord.Kind, node: UInt16, next: UInt16, id: UInt32, worker: Int,
                    generation: UInt64) {
    guard let r = ring.reserve() else { return }
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    let kept = min(Int(p.length), ring.dataBytes)
    r.storeBytes(of: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec), as: UInt64.self)
    r.storeBytes(of: generation, toByteOffset: 8, as: UInt64.self)
    r.storeBytes(of: p.length, toByteOffset: 16, as: UInt32.self)
    r.storeBytes(of: UInt32(kept), toByteOffset: 20, as: UInt32.self)
    r.storeBytes(of: id, toByteOffset: 24, as: UInt32.self)
    r.storeBytes(of: p.context, toByteOffset: 28, as: UInt32.self)
    r.storeBytes(of: p.inPort, toByteOffset: 32, as: UInt16.self)
    r.storeBytes(of: p.outPort, toByteOffset: 34, as: UInt16.self)
    r.storeBytes(of: node, toByteOffset: 36, as: UInt16.self)
    r.storeBytes(of: next, toByteOffset: 38, as: UInt16.self)
    r.storeBytes(of: kind.rawValue, toByteOffset: 40, as: UInt8.self)
    r.storeBytes(of: p.drop, toByteOffset: 41, as: UInt8.self)
    r.storeBytes(of: UInt8(truncatingIfNeeded: worker), toByteOffset: 42, as: UInt8.self)
    (r + TapRing.headerSize).copyMemory(from: p.data, byteCount: kept)
    ring.commit()
  }
}
