import Buffers
import CPcapShim
#if canImport(Glibc)
import Glibc
#endif

/// A capture sink: every packet sent to it is appended to a pcap file (libpcap's
/// `pcap_dump`), then released. Receives nothing. Not for the fast path: each packet is
/// a buffered write.
@frozen
public struct PcapWriterPort {
  @usableFromInline let dead: OpaquePointer
  @usableFromInline let dumper: OpaquePointer
  public let counters: CounterBlock

  public static func open(path: String, snaplen: Int32 = 65535) throws(IOError) -> PcapWriterPort {
    guard let dead = pcap_open_dead(DLT_EN10MB, snaplen) else { throw IOError("pcap_open_dead failed") }
    guard let d = pcap_dump_open(dead, path) else {
      let e = String(cString: pcap_geterr(dead))
      pcap_close(dead)
      throw IOError("cannot write pcap \(path): \(e)")
    }
    return PcapWriterPort(dead: dead, dumper: d, counters: CounterBlock(count: PortCounter.blockSize))
  }

  @usableFromInline init(dead: OpaquePointer, dumper: OpaquePointer, counters: CounterBlock) {
    self.dead = dead
    self.dumper = dumper
    self.counters = counters
  }

  @inlinable
  public func tx(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser) -> Int {
    var tv = timeval()
    gettimeofday(&tv, nil)
    var bytes = 0
    for i in 0..<count {
      let p = packets[i]
      var h = pcap_pkthdr(ts: tv, caplen: p.length, len: p.length)
      pcap_dump(UnsafeMutablePointer<UInt8>(dumper), &h, p.data.assumingMemoryBound(to: UInt8.self))
      bytes &+= Int(p.length)
    }
    releaser.release(packets, count: count)
    counters.countTx(count, bytes: bytes)
    return count
  }

  public func close() {
    pcap_dump_close(dumper)
    pcap_close(dead)
  }
}
