public import SwitchyardTUI

/// Unicode glyphs (braille charts, box lines, ✔ ✖) only where the terminal
/// can show them: a UTF-8 locale, and no `--ascii`.
public enum GlyphChoice {
    /// The locale is the first of `LC_ALL`, `LC_CTYPE`, `LANG` that is set,
    /// as the C library reads it; a locale without UTF-8 gets ASCII.
    public static func glyphs(environment: [String: String], ascii: Bool) -> Glyphs {
        guard !ascii else { return .ascii }
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        let normalized = String(locale.lowercased().filter { $0 != "-" })
        return normalized.contains("utf8") ? .unicode : .ascii
    }
}
