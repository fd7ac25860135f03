public import SwitchyardTUI

/// Unicode glyphs (braille charts, box lines, ✔ ✖) only where the terminal
/// can show them: a UTF-8 locale, and no `--ascii`.
public enum GlyphChoice {
    /// The locale is the first of `LC_ALL`, `LC_CTYPE`, `LANG` that is set,
    /// as the C library reads it; a locale without UTF-8 gets ASCII.
    /// - Parameter braille: `false` draws charts in half blocks, for fonts without braille.
    public static func glyphs(environment: [String: String], ascii: Bool, braille: Bool = true) -> Glyphs {
        guard !ascii else { return .ascii }
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        let normalized = String(locale.lowercased().filter { $0 != "-" })
        guard normalized.contains("utf8") else { return .ascii }
        return braille ? .unicode : .blocks
    }
}
