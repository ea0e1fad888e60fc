import FuzzDriver
import Foundation
import NodeConfig

// libFuzzer target: gannetd's config loader. Input: the bytes of a config file. Asserts:
// no crash; a config that is accepted has the invariants gannetd relies on.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard let c = try? DaemonConfig.parse(Data(bytes: data, count: size), source: "fuzz.json") else { return 0 }
  if !(1...64).contains(c.workers) || (c.cores != nil && c.cores!.count != c.workers) || !c.tunnelIP.isUnicastHost
    || !(576...9216).contains(c.underlayMTU) {
    fatalError("accepted a config gannetd cannot run: \(c)")
  }
  return 0
}

@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
  runFuzzer(argc, argv, fuzzConfig)
}
