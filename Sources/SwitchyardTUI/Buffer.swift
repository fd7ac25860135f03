/// A grid of cells that widgets draw into; the terminal backend shows it,
/// and tests read it back as text.
public struct Buffer: Hashable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get {
            guard x >= 0, y >= 0, x < width, y < height else { return .blank }
            return cells[y * width + x]
        }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            cells[y * width + x] = newValue
        }
    }

    /// Writes `text` from (x, y), clipped to `clip`; returns the column after it.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        let bounds = clip ?? area
        guard y >= bounds.y, y < bounds.maxY else { return x }
        var column = x
        for character in text {
            let w = CharacterWidth.of(character)
            if w == 0 { continue }
            if column + w > bounds.maxX { break }
            if column >= bounds.x {
                self[column, y] = Cell(String(character), style: style)
                if w == 2 { self[column + 1, y] = .continuation }
            }
            column += w
        }
        return column
    }

    /// Fills a rectangle with one symbol and style.
    public mutating func fill(_ rect: Rect, symbol: String = " ", style: Style = .plain) {
        for y in rect.y..<rect.maxY where y >= 0 && y < height {
            for x in rect.x..<rect.maxX where x >= 0 && x < width {
                self[x, y] = Cell(symbol, style: style)
            }
        }
    }

    /// Sets the style of every cell in a rectangle, keeping the symbols.
    public mutating func restyle(_ rect: Rect, _ transform: (inout Style) -> Void) {
        for y in rect.y..<rect.maxY where y >= 0 && y < height {
            for x in rect.x..<rect.maxX where x >= 0 && x < width {
                transform(&cells[y * width + x].style)
            }
        }
    }

    /// The buffer as text, one line per row, trailing spaces trimmed: what
    /// snapshot tests compare.
    public var text: String {
        (0..<height).map { y in
            var line = ""
            for x in 0..<width {
                line += self[x, y].symbol
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }

    /// One character per cell naming its role's first letter (upper case when
    /// bold), for snapshot tests of styling.
    public var styleMask: String {
        (0..<height).map { y in
            String((0..<width).map { x -> Character in
                let style = self[x, y].style
                let letter = Style.maskLetters[style.role] ?? "?"
                return style.bold ? Character(letter.uppercased()) : letter
            })
        }.joined(separator: "\n")
    }

    /// The cells that differ from `previous` (all of them when the sizes
    /// differ), as runs on one row with one style: what the backend redraws.
    public func changes(since previous: Buffer?) -> [Run] {
        var runs: [Run] = []
        let full = previous == nil || previous!.width != width || previous!.height != height
        for y in 0..<height {
            var x = 0
            while x < width {
                let index = y * width + x
                guard full || cells[index] != previous!.cells[index] else {
                    x += 1
                    continue
                }
                let style = cells[index].style
                var text = ""
                var end = x
                while end < width, cells[y * width + end].style == style, full || cells[y * width + end] != previous!.cells[y * width + end] || cells[y * width + end] == .continuation {
                    text += cells[y * width + end].symbol
                    end += 1
                }
                if end == x { end = x + 1; text = cells[index].symbol }
                runs.append(Run(x: x, y: y, text: text, style: style))
                x = end
            }
        }
        return runs
    }

    /// Consecutive changed cells on one row with the same style.
    public struct Run: Hashable, Sendable {
        public let x: Int
        public let y: Int
        public let text: String
        public let style: Style
    }
}

extension Style {
    static let maskLetters: [StyleRole: Character] = [
        .text: "t", .dim: "d", .title: "i", .border: "b", .header: "h", .selected: "s", .accent: "a", .good: "g", .warning: "w",
        .bad: "x", .critical: "c", .stable: "o", .canary: "n", .threshold: "l", .hint: "p", .hintKey: "k", .flash: "f", .stale: "e",
        .dialog: "q",
    ]
}
