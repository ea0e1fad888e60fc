/// The control protocol spoken on gannetd's Unix socket. Version 1 is defined with the
/// control socket (issue 3); this file pins the version both sides compile against.
public enum ControlProtocol {
  public static let version = 1
  public static let defaultSocketPath = "/run/gannet/gannetd.sock"
}
