import CNumaShim

/// A fixed pool of equal packet buffers for the backends that are not DPDK (AF_PACKET,
/// pcap replay, memory ports), placed on the worker's NUMA node.
///
///     slab: | hdr | data room ............ | hdr | data room ............ | …
///           ^ buffer (what Packet.buffer holds)
///                 ^ buffer + headroom: where a received frame starts
///
/// Thread safety: single owner. A pool belongs to one worker thread, which alone calls
/// `alloc`/`free`; the control thread creates and destroys it while no worker runs.
/// The handle is a pointer: copying it shares the pool.
@frozen
public struct NativePool: @unchecked Sendable {
  public static let defaultHeadroom = 128
  public static let defaultDataRoom = 2048

  @usableFromInline struct State {
    @usableFromInline var freeCount: Int
    @usableFromInline let freeStack: UnsafeMutablePointer<UnsafeMutableRawPointer>
    @usableFromInline let slab: UnsafeMutableRawPointer
    @usableFromInline let slabBytes: Int
    @usableFromInline let count: Int
    @usableFromInline let bufferSize: Int
    @usableFromInline let headroom: Int
  }
  @usableFromInline let state: UnsafeMutablePointer<State>

  /// Creates `count` buffers of `headroom + dataRoom` bytes on NUMA node `node` (-1: local).
  public init(count: Int, headroom: Int = defaultHeadroom, dataRoom: Int = defaultDataRoom, node: Int32 = -1) {
    precondition(count > 0 && headroom >= 0 && dataRoom >= 64)
    let size = (headroom + dataRoom + 63) & ~63
    let bytes = size * count
    guard let slab = cnuma_alloc(bytes, node) else { fatalError("NativePool: cannot allocate \(bytes) bytes") }
    let stack = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: count)
    for i in 0..<count { stack[i] = slab + i * size }
    state = .allocate(capacity: 1)
    state.initialize(to: State(freeCount: count, freeStack: stack, slab: slab, slabBytes: bytes, count: count,
                               bufferSize: size, headroom: headroom))
  }

  /// Frees the slab. Every buffer must have been returned; the control thread calls this
  /// after the owning worker has stopped.
  public func destroy() {
    cnuma_free(state.pointee.slab, state.pointee.slabBytes)
    state.pointee.freeStack.deallocate()
    state.deinitialize(count: 1)
    state.deallocate()
  }

  @inlinable public var headroom: Int { state.pointee.headroom }
  /// Bytes a frame may occupy starting at `buffer + headroom`.
  @inlinable public var dataRoom: Int { state.pointee.bufferSize &- state.pointee.headroom }
  @inlinable public var available: Int { state.pointee.freeCount }
  @inlinable public var capacity: Int { state.pointee.count }

  /// Takes a buffer, or nil when the pool is empty (the caller counts `rxNoBuffer`).
  @inlinable @inline(__always)
  public func alloc() -> UnsafeMutableRawPointer? {
    let n = state.pointee.freeCount
    guard n > 0 else { return nil }
    state.pointee.freeCount = n &- 1
    return state.pointee.freeStack[n &- 1]
  }

  /// Returns a buffer taken from this pool.
  @inlinable @inline(__always)
  public func free(_ b: UnsafeMutableRawPointer) {
    let n = state.pointee.freeCount
    state.pointee.freeStack[n] = b
    state.pointee.freeCount = n &+ 1
  }

}
