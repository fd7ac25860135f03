/// A colour as themes give it.
public enum ThemeColor: Hashable, Sendable {
    /// The terminal's own foreground or background.
    case terminalDefault
    /// One of the 256 xterm colours (0–15 are the basic ones).
    case index(Int)
    case rgb(red: Int, green: Int, blue: Int)

    static let basicNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// Parses `default`, a basic colour name (`red`, `bright-blue`), `0`…`255`, or `#rrggbb`.
    public init?(_ text: String) {
        let value = text.lowercased()
        if value == "default" {
            self = .terminalDefault
        } else if let index = Self.basicNames.firstIndex(of: value) {
            self = .index(index)
        } else if value.hasPrefix("bright-"), let index = Self.basicNames.firstIndex(of: String(value.dropFirst(7))) {
            self = .index(index + 8)
        } else if let number = Int(value), (0...255).contains(number) {
            self = .index(number)
        } else if value.hasPrefix("#"), value.count == 7, let rgb = Int(value.dropFirst(), radix: 16) {
            self = .rgb(red: rgb >> 16 & 0xff, green: rgb >> 8 & 0xff, blue: rgb & 0xff)
        } else {
            return nil
        }
    }

    /// The colour on a terminal with `colors` colours (256, 16 or 8): the same
    /// one when it fits, else the nearest; `nil` for the terminal default.
    public func terminalIndex(colors: Int) -> Int? {
        switch self {
        case .terminalDefault:
            return nil
        case .index(let index):
            if index < colors { return index }
            return Self.nearestBasic(Self.rgb(of: index), colors: colors)
        case .rgb(let r, let g, let b):
            if colors >= 256 { return Self.nearestCube(r, g, b) }
            return Self.nearestBasic((r, g, b), colors: colors)
        }
    }

    /// The RGB of an xterm colour index.
    static func rgb(of index: Int) -> (Int, Int, Int) {
        let basic: [(Int, Int, Int)] = [
            (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
            (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
        ]
        if index < 16 { return basic[index] }
        if index >= 232 {
            let level = 8 + (index - 232) * 10
            return (level, level, level)
        }
        let cube = index - 16
        let steps = [0, 95, 135, 175, 215, 255]
        return (steps[cube / 36], steps[cube / 6 % 6], steps[cube % 6])
    }

    static func nearestCube(_ r: Int, _ g: Int, _ b: Int) -> Int {
        (16...255).min { distance(rgb(of: $0), (r, g, b)) < distance(rgb(of: $1), (r, g, b)) }!
    }

    static func nearestBasic(_ color: (Int, Int, Int), colors: Int) -> Int {
        (0..<min(max(colors, 8), 16)).min { distance(rgb(of: $0), color) < distance(rgb(of: $1), color) }!
    }

    static func distance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        let dr = a.0 - b.0, dg = a.1 - b.1, db = a.2 - b.2
        return 2 * dr * dr + 4 * dg * dg + 3 * db * db
    }
}

/// Colours for each style role. Status never rests on colour alone — every
/// status has a glyph — so a monochrome theme loses nothing but colour.
public struct Theme: Hashable, Sendable {
    public struct Colors: Hashable, Sendable {
        public var foreground: ThemeColor
        public var background: ThemeColor
        public var bold: Bool

        public init(_ foreground: ThemeColor, _ background: ThemeColor = .terminalDefault, bold: Bool = false) {
            self.foreground = foreground
            self.background = background
            self.bold = bold
        }
    }

    public var name: String
    /// No colours at all: only bold, dim and reverse.
    public var monochrome: Bool
    public var roles: [StyleRole: Colors]

    public init(name: String, monochrome: Bool = false, roles: [StyleRole: Colors]) {
        self.name = name
        self.monochrome = monochrome
        self.roles = roles
    }

    public func colors(for role: StyleRole) -> Colors {
        roles[role] ?? Colors(.terminalDefault)
    }

    /// The built-in palette every theme file is merged over.
    public static let builtIn = Theme(
        name: "default",
        roles: [
            .text: Colors(.terminalDefault), .dim: Colors(.index(245)), .title: Colors(.index(81)), .border: Colors(.index(240)),
            .header: Colors(.index(252)), .selected: Colors(.index(231), .index(237)), .accent: Colors(.index(117)),
            .good: Colors(.index(78)), .warning: Colors(.index(221)), .bad: Colors(.index(203)), .critical: Colors(.index(196)),
            .stable: Colors(.index(111)), .canary: Colors(.index(215)), .threshold: Colors(.index(203)), .hint: Colors(.index(250)),
            .hintKey: Colors(.index(81)), .flash: Colors(.index(221)), .stale: Colors(.index(242)), .dialog: Colors(.index(231), .index(60)),
        ]
    )

    public static let monochromeTheme = Theme(name: "monochrome", monochrome: true, roles: [:])
}
