public import SwitchyardConfig
public import SwitchyardTUI
import Yams

/// A console theme file — a shipped one in `Themes/NAME.yaml` beside this
/// file, or any file given by path: a palette of named colours and the
/// colours of each role, merged over the built-in theme. Refused with the
/// file, line, key and value when anything is off.
public enum ThemeFile {
    public static func parse(_ text: String, file: String) throws(ConfigError) -> Theme {
        let reader = YAMLReader(file: file)
        var theme = Theme.builtIn
        guard let root = try reader.compose(text) else { return theme }
        let top = try reader.mapping(root, at: "", allowed: ["name", "monochrome", "palette", "roles"])
        theme.name = try top.string("name") ?? theme.name
        theme.monochrome = try top.bool("monochrome") ?? false
        var palette: [String: ThemeColor] = [:]
        if let paletteNode = top["palette"] {
            let members = try reader.mapping(paletteNode, at: "palette", allowed: nil)
            for (name, node) in members.members {
                palette[name] = try color(node, at: members.path(name), palette: [:], reader: reader)
            }
        }
        if let rolesNode = top["roles"] {
            let members = try reader.mapping(rolesNode, at: "roles", allowed: Set(StyleRole.allCases.map(\.rawValue)))
            for (name, node) in members.members {
                let role = StyleRole(rawValue: name)!
                let path = members.path(name)
                if case .mapping = node {
                    let parts = try reader.mapping(node, at: path, allowed: ["fg", "bg", "bold"])
                    var colors = theme.colors(for: role)
                    if let fg = parts["fg"] { colors.foreground = try color(fg, at: parts.path("fg"), palette: palette, reader: reader) }
                    if let bg = parts["bg"] { colors.background = try color(bg, at: parts.path("bg"), palette: palette, reader: reader) }
                    colors.bold = try parts.bool("bold") ?? colors.bold
                    theme.roles[role] = colors
                } else {
                    var colors = theme.colors(for: role)
                    colors.foreground = try color(node, at: path, palette: palette, reader: reader)
                    theme.roles[role] = colors
                }
            }
        }
        return theme
    }

    private static func color(_ node: Node, at path: String, palette: [String: ThemeColor], reader: YAMLReader) throws(ConfigError) -> ThemeColor {
        guard case .scalar(let scalar) = node else {
            throw reader.fail(node, path, "expected a colour, found \(YAMLReader.kind(node))")
        }
        if let anchored = palette[scalar.string] { return anchored }
        guard let color = ThemeColor(scalar.string) else {
            throw reader.fail(
                node, path,
                "'\(scalar.string)' is not a colour: use a palette name, default, a basic name (red, bright-blue…), 0–255 or #rrggbb"
            )
        }
        return color
    }
}
