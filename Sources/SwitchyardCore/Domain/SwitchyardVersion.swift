/// The release this build is: `switchyard --version`, the `User-Agent` the
/// gateway sends upstream and the management client sends, and `/healthz`.
public enum SwitchyardVersion {
    public static let current = "0.2.0"

    /// `switchyard/0.2.0`, as a product token in `User-Agent` and `Server` headers.
    public static var productToken: String { "switchyard/\(current)" }
}
