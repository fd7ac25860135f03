import Foundation

/// Reading a config-like file (routes, plans, tokens, catalog) whole.
public enum TextFile {
    /// The file's text, or a `ConfigError` naming the file and why it could not be read.
    public static func read(_ path: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, line: nil, key: "", reason: "cannot read it: \((error as NSError).localizedDescription)")
        }
    }
}
