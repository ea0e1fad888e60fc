import Buffers
import Wire

/// A port in memory, for tests and benchmarks (VPP's packet-generator interfaces,
/// smoltcp's Loopback).
///
/// Input is a ring of preallocated slots that `inject` fills; output is either counted
/// and released (a null sink, `capture: false`) or copied into a ring of capture slots
/// that `drainCaptured` reads. Neither `rx` nor `tx` allocates.
///
/// Thread safety: none. The test drives `inject`, the worker step and `drainCaptured`
/// from one thread.
@frozen
public struct MemoryPort {
  public static let slotSize = 2048
  @usableFromInline struct Ring {
    @usableFromInline let slots: UnsafeMutableRawPointer
    @usableFromInline let lengths: UnsafeMutablePointer<Int>
    @usableFromInline let capacity: Int
    @usableFromInline var head = 0      // next to read
    @usableFromInline var count = 0
    init(capacity: Int) {
      self.capacity = capacity
      slots = .allocate(byteCount: capacity * MemoryPort.slotSize, alignment: 64)
      lengths = .allocate(capacity: capacity)
    }
    func free() {
      slots.deallocate()
      lengths.deallocate()
    }
  }
  @usableFromInline struct State {
    @usableFromInline var input: Ring
    @usableFromInline var output: Ring
    @usableFromInline let capture: Bool
  }
  @usableFromInline let state: UnsafeMutablePointer<State>
  public let counters: CounterBlock

  public init(inputCapacity: Int = 1024, captureCapacity: Int = 1024, capture: Bool = true) {
    state = .allocate(capacity: 1)
    state.initialize(to: State(input: Ring(capacity: inputCapacity), output: Ring(capacity: capture ? captureCapacity : 1),
                               capture: capture))
    counters = CounterBlock(count: PortCounter.blockSize)
  }

  /// Queues a frame to be received. Returns false when the input ring is full or the
  /// frame is larger than a slot.
  @discardableResult
  public func inject(_ frame: [UInt8]) -> Bool {
    let r = state.pointee.input
    guard r.count < r.capacity, frame.count <= Self.slotSize else { return false }
    let i = (r.head + r.count) % r.capacity
    frame.withUnsafeBytes { (r.slots + i * Self.slotSize).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
    r.lengths[i] = frame.count
    state.pointee.input.count += 1
    return true
  }

  /// Frames queued by `inject` and not yet received.
  public var pendingInput: Int { state.pointee.input.count }

  /// Returns and forgets every captured frame, oldest first.
  public func drainCaptured() -> [[UInt8]] {
    var out: [[UInt8]] = []
    let r = state.pointee.output
    for k in 0..<r.count {
      let i = (r.head + k) % r.capacity
      out.append(Array(UnsafeRawBufferPointer(start: r.slots + i * Self.slotSize, count: r.lengths[i])))
    }
    state.pointee.output.head = 0
    state.pointee.output.count = 0
    return out
  }

  @inlinable
  public func rx(into v: inout PacketVector, max: Int, inPort: UInt16, pool: NativePool) -> Int {
    var got = 0
    var bytes = 0
    while got < max && state.pointee.input.count > 0 {
      let r = state.pointee.input
      let len = r.lengths[r.head]
      guard let buf = pool.alloc() else {
        counters.addDrop(.rxNoBuffer)
        break
      }
      let dst = buf + pool.headroom
      dst.copyMemory(from: r.slots + r.head * Self.slotSize, byteCount: len)
      v.append(Packet(data: dst, buffer: buf, length: UInt32(len), inPort: inPort, flags: 0))
      state.pointee.input.head = (r.head + 1) % r.capacity
      state.pointee.input.count -= 1
      got &+= 1
      bytes &+= len
    }
    counters.countRx(got, bytes: bytes)
    return got
  }

  @inlinable
  public func tx(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser) -> Int {
    var sent = 0
    var bytes = 0
    if state.pointee.capture {
      for i in 0..<count {
        let p = packets[i]
        let r = state.pointee.output
        let len = Int(p.length)
        if len > Self.slotSize {
          counters.addDrop(.txFrameTooLong)
          continue
        }
        if r.count == r.capacity {
          counters.addDrop(.txRingFull)
          continue
        }
        let slot = (r.head + r.count) % r.capacity
        (r.slots + slot * Self.slotSize).copyMemory(from: p.data, byteCount: len)
        r.lengths[slot] = len
        state.pointee.output.count += 1
        sent &+= 1
        bytes &+= len
      }
    } else {
      for i in 0..<count { bytes &+= Int(packets[i].length) }
      sent = count
    }
    releaser.release(packets, count: count)
    counters.countTx(sent, bytes: bytes)
    return sent
  }

  public func close() {
    state.pointee.input.free()
    state.pointee.output.free()
    state.deinitialize(count: 1)
    state.deallocate()
  }
}
