import CDPDKShim

/// The descriptor of one packet in flight: 32 bytes, two per cache line.
///
///     0            8            16        20      22       24        26    27    28       32
///     +------------+------------+---------+-------+--------+---------+-----+-----+--------+
///     | data       | buffer     | length  | inPort| outPort| l3Offset| drop|flags| context|
///     +------------+------------+---------+-------+--------+---------+-----+-----+--------+
///
/// `buffer` owns the bytes: an `rte_mbuf *` when `isMbuf`, else a buffer of the worker's
/// `NativePool`. `data` points at the first byte of the frame inside that buffer and may
/// move (decap, encap) as long as it stays inside it. A descriptor is owned by exactly one
/// pipeline stage at a time; whoever drops or transmits it releases the buffer, once.
@frozen
public struct Packet {
  public var data: UnsafeMutableRawPointer
  public var buffer: UnsafeMutableRawPointer
  public var length: UInt32
  public var inPort: UInt16
  public var outPort: UInt16
  /// Offset of the L3 header from `data`, set by ethernet-input.
  public var l3Offset: UInt16
  /// A `DropReason` raw value, 0 while the packet is alive.
  public var drop: UInt8
  public var flags: UInt8
  /// Node-defined context carried along the graph (network, VRF, adjacency, …).
  public var context: UInt32

  public enum Flag {
    public static let mbuf: UInt8 = 1 << 0
    /// Marked by a live trace (`PacketTap`): every node it passes records what it decided.
    public static let traced: UInt8 = 1 << 1
    /// A segment of a TSO/GSO super-frame that a port segmented on receive: an AF_PACKET
    /// egress may send a run of them as one super-frame again (`AFPacketPort.tx`).
    public static let segment: UInt8 = 1 << 2
  }

  @inlinable @inline(__always)
  public init(data: UnsafeMutableRawPointer, buffer: UnsafeMutableRawPointer, length: UInt32, inPort: UInt16, flags: UInt8) {
    self.data = data
    self.buffer = buffer
    self.length = length
    self.inPort = inPort
    self.outPort = 0
    self.l3Offset = 0
    self.drop = 0
    self.flags = flags
    self.context = 0
  }

  @inlinable public var isMbuf: Bool { flags & Flag.mbuf != 0 }
  @inlinable public var mbuf: OpaquePointer { OpaquePointer(buffer) }
  @inlinable public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: Int(length)) }
  /// Bytes free in front of `data` inside the buffer (room to prepend an encapsulation).
  @inlinable public var headroom: Int {
    isMbuf ? data - UnsafeMutableRawPointer(cdpdk_mbuf_buf_addr(mbuf)!) : data - buffer
  }
}

/// A vector of up to `capacity` packets handed from one stage to the next (VPP
/// vlib_frame_t, DPDK rte_graph stream), with a per-packet next-node disposition.
///
/// The storage is allocated once, by `allocate`, on the control thread at start-up and
/// reused for the life of the worker; nothing here allocates per packet. The struct is a
/// view (two pointers and a count): copying it does not copy the packets, and whoever
/// called `allocate` calls `deallocate` exactly once.
@frozen
public struct PacketVector {
  public static let capacity = 256
  public let packets: UnsafeMutablePointer<Packet>
  public let next: UnsafeMutablePointer<UInt16>
  public var count: Int

  @inlinable public init(packets: UnsafeMutablePointer<Packet>, next: UnsafeMutablePointer<UInt16>, count: Int) {
    self.packets = packets
    self.next = next
    self.count = count
  }

  public static func allocate() -> PacketVector {
    PacketVector(packets: .allocate(capacity: capacity), next: .allocate(capacity: capacity), count: 0)
  }
  public func deallocate() {
    packets.deallocate()
    next.deallocate()
  }

  @inlinable public var isEmpty: Bool { count == 0 }
  @inlinable public var freeSlots: Int { Self.capacity &- count }
  @inlinable @inline(__always)
  public mutating func append(_ p: Packet) {
    packets[count] = p
    count &+= 1
  }
  @inlinable public subscript(i: Int) -> Packet {
    get { packets[i] }
    nonmutating set { packets[i] = newValue }
  }
}
