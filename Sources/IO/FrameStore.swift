import CPcapShim

/// Frames held in one contiguous allocation, as read from a pcap or built by a test.
///
/// Immutable after `init`: any number of threads may read it. Used by `PcapReplayPort`
/// (the in-memory replay that needs no DPDK, so that callgrind can count instructions)
/// and by tests.
public final class FrameStore: @unchecked Sendable {
  public let count: Int
  public let totalBytes: Int
  @usableFromInline let bytes: UnsafeMutableRawPointer
  @usableFromInline let offsets: UnsafeMutablePointer<Int>
  @usableFromInline let lengths: UnsafeMutablePointer<UInt32>

  public init(frames: [[UInt8]]) {
    count = frames.count
    totalBytes = frames.reduce(0) { $0 + $1.count }
    bytes = .allocate(byteCount: max(totalBytes, 1), alignment: 64)
    offsets = .allocate(capacity: max(count, 1))
    lengths = .allocate(capacity: max(count, 1))
    var o = 0
    for (i, f) in frames.enumerated() {
      f.withUnsafeBytes { (bytes + o).copyMemory(from: $0.baseAddress!, byteCount: f.count) }
      offsets[i] = o
      lengths[i] = UInt32(f.count)
      o += f.count
    }
  }

  /// Reads every frame of a pcap file (any link type is taken as Ethernet; see `linkType`).
  public convenience init(pcapFile path: String) throws(IOError) {
    var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
    guard let h = pcap_open_offline(path, &err) else {
      throw IOError("cannot read pcap \(path): \(String(cString: err))")
    }
    defer { pcap_close(h) }
    guard pcap_datalink(h) == DLT_EN10MB else { throw IOError("pcap \(path): link type \(pcap_datalink(h)) is not Ethernet") }
    var frames: [[UInt8]] = []
    var hdr: UnsafeMutablePointer<pcap_pkthdr>? = nil
    var data: UnsafePointer<UInt8>? = nil
    while true {
      let rc = pcap_next_ex(h, &hdr, &data)
      if rc == 1, let hdr, let data {
        frames.append(Array(UnsafeBufferPointer(start: data, count: Int(cpcap_caplen(hdr)))))
      } else if rc == PCAP_ERROR_BREAK {
        break
      } else {
        throw IOError("pcap \(path): read error after \(frames.count) frames: \(String(cString: pcap_geterr(h)))")
      }
    }
    self.init(frames: frames)
  }

  deinit {
    bytes.deallocate()
    offsets.deallocate()
    lengths.deallocate()
  }

  @inlinable public func frame(_ i: Int) -> (UnsafeRawPointer, Int) {
    (UnsafeRawPointer(bytes + offsets[i]), Int(lengths[i]))
  }
  public func frameBytes(_ i: Int) -> [UInt8] {
    let (p, n) = frame(i)
    return Array(UnsafeRawBufferPointer(start: p, count: n))
  }
}

