import Buffers
import Wire

/// Replays a `FrameStore` as received traffic: each `rx` copies the next frames into
/// native buffers (what DPDK's net_pcap does with `infinite_rx=1`), looping over the
/// store until `limit` frames were produced (forever when `limit` is nil).
@frozen
public struct PcapReplayPort {
  @usableFromInline struct State {
    @usableFromInline var cursor: Int
    @usableFromInline var produced: Int
    @usableFromInline let limit: Int
    // The store's storage, copied here so the hot loop reads no class field.
    @usableFromInline let bytes: UnsafeMutableRawPointer
    @usableFromInline let offsets: UnsafeMutablePointer<Int>
    @usableFromInline let lengths: UnsafeMutablePointer<UInt32>
    @usableFromInline let frames: Int
    /// Keeps the frames alive as long as the port. Held here, not in the port value,
    /// so that copying a port (per burst) never retains.
    let store: FrameStore
  }
  @usableFromInline let state: UnsafeMutablePointer<State>
  public let counters: CounterBlock

  public init(store: FrameStore, limit: Int? = nil) {
    precondition(store.count > 0, "replaying an empty pcap")
    state = .allocate(capacity: 1)
    state.initialize(to: State(cursor: 0, produced: 0, limit: limit ?? Int.max, bytes: store.bytes, offsets: store.offsets,
                               lengths: store.lengths, frames: store.count, store: store))
    counters = CounterBlock(count: PortCounter.blockSize)
  }

  /// True once `limit` frames were produced.
  public var finished: Bool { state.pointee.produced >= state.pointee.limit }

  @inlinable
  public func rx(into v: inout PacketVector, max: Int, inPort: UInt16, pool: NativePool) -> Int {
    // Frames consumed from the store this call: received ones and dropped oversize ones.
    let want = Swift.min(max, state.pointee.limit &- state.pointee.produced)
    guard want > 0 else { return 0 }
    let s = state.pointee.bytes, offsets = state.pointee.offsets, lengths = state.pointee.lengths
    let n = state.pointee.frames
    var cursor = state.pointee.cursor
    var consumed = 0
    var got = 0
    var bytes = 0
    while consumed < want {
      let len = Int(lengths[cursor])
      if len > pool.dataRoom {
        counters.addDrop(.rxTruncated)
      } else {
        guard let buf = pool.alloc() else {
          counters.addDrop(.rxNoBuffer)
          break                                // this frame is retried on the next call
        }
        let dst = buf + pool.headroom
        dst.copyMemory(from: s + offsets[cursor], byteCount: len)
        v.append(Packet(data: dst, buffer: buf, length: UInt32(len), inPort: inPort, flags: 0))
        got &+= 1
        bytes &+= len
      }
      consumed &+= 1
      cursor &+= 1
      if cursor == n { cursor = 0 }
    }
    state.pointee.cursor = cursor
    state.pointee.produced &+= consumed
    counters.countRx(got, bytes: bytes)
    return got
  }

  /// A replay port only receives; anything sent to it is counted and released.
  @inlinable
  public func tx(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser) -> Int {
    releaser.release(packets, count: count)
    counters.addDrop(.txRingFull, UInt64(count))
    return 0
  }

  public func close() {
    state.deinitialize(count: 1)
    state.deallocate()
  }
}
