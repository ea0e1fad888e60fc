#if canImport(Glibc)
import Glibc
#endif

/// Large tables that workers read at random (connection and session tables): zero-filled
/// memory straight from the kernel, advised for transparent huge pages. Pages are touched
/// only when used, so a table costs memory as it fills; with 2 MiB pages a random lookup
/// over megabytes does not miss the TLB on nearly every access (measured on W6: a
/// connection table of 8 MiB in 4 KiB pages forwarded 7.8 Mpps, the same lookups in a
/// table small enough for the TLB 10.3). Control thread (allocation and release).
enum HugeMemory {
  /// `count` zeroed `T`s (a type whose all-zero bit pattern is a valid value).
  static func zeroed<T: ~Copyable>(_ count: Int, as: T.Type) -> UnsafeMutablePointer<T> {
    let bytes = size(count, T.self)
    let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    precondition(p != MAP_FAILED, "cannot map \(bytes) bytes for a table")
    _ = madvise(p, bytes, 14 /* MADV_HUGEPAGE */)
    return p!.bindMemory(to: T.self, capacity: count)
  }

  /// Returns memory from `zeroed` with the same `count`.
  static func release<T: ~Copyable>(_ p: UnsafeMutablePointer<T>, count: Int) {
    munmap(p, size(count, T.self))
  }

  static func size<T: ~Copyable>(_ count: Int, _: T.Type) -> Int { max(count * MemoryLayout<T>.stride, 4096) }
}
