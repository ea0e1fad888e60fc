import CDPDKShim

/// Returns packet buffers to where they came from: mbufs to their mempool in one bulk
/// call per burst, native buffers to the worker's pool.
///
/// Called by the worker thread that owns the packets (error-drop, port output for the
/// packets a port did not take). `scratch` holds at least `PacketVector.capacity` pointers.
@frozen
public struct BufferReleaser {
  public let pool: NativePool
  @usableFromInline let scratch: UnsafeMutablePointer<OpaquePointer?>

  public init(pool: NativePool) {
    self.pool = pool
    scratch = .allocate(capacity: PacketVector.capacity)
  }
  public func destroy() { scratch.deallocate() }

  /// Releases `count` packets starting at `packets`.
  @inlinable
  public func release(_ packets: UnsafeMutablePointer<Packet>, count: Int) {
    var mbufs = 0
    for i in 0..<count {
      let p = packets[i]
      if p.isMbuf {
        scratch[mbufs] = p.mbuf
        mbufs &+= 1
      } else {
        pool.free(p.buffer)
      }
    }
    if mbufs > 0 { cdpdk_mbuf_free_bulk(scratch, UInt32(mbufs)) }
  }

  /// Releases one packet.
  @inlinable
  public func release(_ p: Packet) {
    if p.isMbuf { cdpdk_mbuf_free(p.mbuf) } else { pool.free(p.buffer) }
  }
}
