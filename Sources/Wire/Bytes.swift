/// Big-endian (network order) loads and stores at byte offsets, unaligned.
///
/// Every header view goes through these, so the byte-order conversion lives in one place.
/// They do no bounds checks: a view's validating constructor is what guarantees the offsets.
extension UnsafeMutableRawPointer {
  @inlinable @inline(__always)
  public func loadBE16(at o: Int) -> UInt16 { UInt16(bigEndian: loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
  @inlinable @inline(__always)
  public func loadBE32(at o: Int) -> UInt32 { UInt32(bigEndian: loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
  @inlinable @inline(__always)
  public func loadU8(at o: Int) -> UInt8 { load(fromByteOffset: o, as: UInt8.self) }
  @inlinable @inline(__always)
  public func storeBE16(_ v: UInt16, at o: Int) { storeBytes(of: v.bigEndian, toByteOffset: o, as: UInt16.self) }
  @inlinable @inline(__always)
  public func storeBE32(_ v: UInt32, at o: Int) { storeBytes(of: v.bigEndian, toByteOffset: o, as: UInt32.self) }
  @inlinable @inline(__always)
  public func storeU8(_ v: UInt8, at o: Int) { storeBytes(of: v, toByteOffset: o, as: UInt8.self) }

  /// A 48-bit MAC address at `o`, as the low 48 bits of a UInt64 in network order
  /// (byte 0 of the address is bits 47…40).
  @inlinable @inline(__always)
  public func loadMAC(at o: Int) -> MACAddress {
    let hi = UInt64(loadBE16(at: o)), lo = UInt64(loadBE32(at: o &+ 2))
    return MACAddress(rawValue: (hi << 32) | lo)
  }
  @inlinable @inline(__always)
  public func storeMAC(_ m: MACAddress, at o: Int) {
    storeBE16(UInt16(truncatingIfNeeded: m.rawValue >> 32), at: o)
    storeBE32(UInt32(truncatingIfNeeded: m.rawValue), at: o &+ 2)
  }
}
