public import Foundation
import SwitchyardConfig
public import SwitchyardTUI

/// The console's themes: the ones shipped in `Themes/` beside this file (built into the
/// binary), or any theme file by path.
public enum Themes {
    /// The names of the shipped themes.
    public static let shipped = ["default", "light", "high-contrast", "deuteranopia", "monochrome"]

    /// `NAME` (a shipped theme) or a path to a theme file; `NO_COLOR` in the
    /// environment means monochrome whatever is asked.
    public static func load(_ nameOrPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Theme {
        if environment["NO_COLOR"].map({ !$0.isEmpty }) ?? false { return Theme.monochromeTheme }
        guard let nameOrPath else { return Theme.builtIn }
        let url: URL
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") {
            url = URL(fileURLWithPath: nameOrPath)
        } else if let shippedURL = Bundle.module.url(forResource: nameOrPath, withExtension: "yaml", subdirectory: "Themes") {
            url = shippedURL
        } else {
            throw ThemeError.unknown(nameOrPath, known: shipped)
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ThemeError.unreadable(url.path)
        }
        return try ThemeFile.parse(text, file: url.path)
    }
}

public enum ThemeError: Error, CustomStringConvertible {
    case unknown(String, known: [String])
    case unreadable(String)

    public var description: String {
        switch self {
        case .unknown(let name, let known): "no theme named '\(name)'; shipped themes: \(known.joined(separator: ", ")) (or give a file path)"
        case .unreadable(let path): "cannot read theme file \(path)"
        }
    }
}
