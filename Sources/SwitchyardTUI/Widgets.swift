import Foundation

/// Glyph sets: Unicode when the terminal is UTF-8, ASCII otherwise.
public struct Glyphs: Hashable, Sendable {
    public var horizontal, vertical, topLeft, topRight, bottomLeft, bottomRight, teeLeft, teeRight: String
    public var barFull, barEmpty, sliderKnob, sliderTrack, sliderFilled, pointer: String
    public var ok, warn, fail, pending, live, stale: String
    /// Text glyphs beyond ASCII (arrows, Δ, ‖, box lines).
    public var unicode: Bool
    /// How charts draw their lines.
    public var chart: ChartDots

    /// Braille dots (2×4 a cell) where the font has them; half blocks (1×2 a
    /// cell) where it does not; ASCII `*` and `|` where nothing else shows.
    public enum ChartDots: Hashable, Sendable { case braille, halfBlocks, ascii }

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘", teeLeft: "├", teeRight: "┤",
        barFull: "█", barEmpty: "░", sliderKnob: "●", sliderTrack: "─", sliderFilled: "━", pointer: "▶",
        ok: "✔", warn: "▲", fail: "✖", pending: "…", live: "●", stale: "○", unicode: true, chart: .braille
    )
    /// Unicode, with charts in half blocks: for fonts without braille.
    public static let blocks: Glyphs = {
        var glyphs = Glyphs.unicode
        glyphs.chart = .halfBlocks
        return glyphs
    }()
    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+", teeLeft: "+", teeRight: "+",
        barFull: "#", barEmpty: ".", sliderKnob: "O", sliderTrack: "-", sliderFilled: "=", pointer: ">",
        ok: "v", warn: "!", fail: "x", pending: "~", live: "*", stale: "o", unicode: false, chart: .ascii
    )
}

extension Buffer {
    /// A bordered box with a title on its top edge; returns the inner area.
    @discardableResult
    public mutating func box(_ rect: Rect, title: String = "", glyphs: Glyphs, style: Style = Style(.border), titleStyle: Style = Style(.title, bold: true)) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        for x in rect.x + 1..<rect.maxX - 1 {
            self[x, rect.y] = Cell(glyphs.horizontal, style: style)
            self[x, rect.maxY - 1] = Cell(glyphs.horizontal, style: style)
        }
        for y in rect.y + 1..<rect.maxY - 1 {
            self[rect.x, y] = Cell(glyphs.vertical, style: style)
            self[rect.maxX - 1, y] = Cell(glyphs.vertical, style: style)
        }
        self[rect.x, rect.y] = Cell(glyphs.topLeft, style: style)
        self[rect.maxX - 1, rect.y] = Cell(glyphs.topRight, style: style)
        self[rect.x, rect.maxY - 1] = Cell(glyphs.bottomLeft, style: style)
        self[rect.maxX - 1, rect.maxY - 1] = Cell(glyphs.bottomRight, style: style)
        if !title.isEmpty {
            let text = " " + CharacterWidth.truncate(title, to: rect.width - 6) + " "
            write(text, x: rect.x + 2, y: rect.y, style: titleStyle)
        }
        return rect.inset(1)
    }

    /// A bar `width` cells long, `fraction` of it full.
    public mutating func bar(x: Int, y: Int, width: Int, fraction: Double, glyphs: Glyphs, full: Style, empty: Style) {
        let filled = Int((max(0, min(1, fraction)) * Double(width)).rounded())
        for index in 0..<width {
            self[x + index, y] = index < filled ? Cell(glyphs.barFull, style: full) : Cell(glyphs.barEmpty, style: empty)
        }
    }
}

/// A table: a header row, then rows; columns have fixed widths, the last takes the rest.
public struct TableWidget: Sendable {
    public struct Column: Sendable {
        public var title: String
        public var width: Int
        public var rightAligned: Bool

        public init(_ title: String, width: Int, rightAligned: Bool = false) {
            self.title = title
            self.width = width
            self.rightAligned = rightAligned
        }
    }

    /// One cell's text and style.
    public struct Item: Sendable {
        public var text: String
        public var style: Style

        public init(_ text: String, _ style: Style = .plain) {
            self.text = text
            self.style = style
        }
    }

    public var columns: [Column]
    public var rows: [[Item]]
    public var selected: Int?

    public init(columns: [Column], rows: [[Item]], selected: Int?) {
        self.columns = columns
        self.rows = rows
        self.selected = selected
    }

    /// The first row shown so that `selected` stays visible in `height - 1` rows.
    public static func scrollOffset(selected: Int?, rows: Int, visible: Int) -> Int {
        guard let selected, visible > 0, rows > visible else { return 0 }
        return min(max(0, selected - visible + 1), rows - visible)
    }

    public func render(into buffer: inout Buffer, area: Rect, glyphs: Glyphs) {
        guard area.height > 0 else { return }
        var x = area.x + 1
        for column in columns {
            buffer.write(column.title, x: x, y: area.y, style: Style(.header, bold: true), clip: area)
            x += column.width + 1
        }
        let visible = area.height - 1
        let offset = Self.scrollOffset(selected: selected, rows: rows.count, visible: visible)
        for (line, index) in (offset..<min(rows.count, offset + visible)).enumerated() {
            let y = area.y + 1 + line
            let isSelected = index == selected
            if isSelected {
                buffer.fill(Rect(x: area.x, y: y, width: area.width, height: 1), style: Style(.selected, highlight: true))
                buffer.write(glyphs.pointer, x: area.x, y: y, style: Style(.selected, bold: true, highlight: true), clip: area)
            }
            var x = area.x + 1
            for (column, item) in zip(columns, rows[index]) {
                let text = CharacterWidth.truncate(item.text, to: column.width)
                let pad = column.rightAligned ? column.width - CharacterWidth.of(text) : 0
                var style = item.style
                if isSelected {
                    style.reverse = false
                    style.highlight = true
                    if style.role == .text { style.role = .selected }
                }
                buffer.write(text, x: x + pad, y: y, style: style, clip: area)
                x += column.width + 1
            }
        }
    }
}

/// A percentage slider: `canary ◀━━━━●────▶ 30 %`.
public struct SliderWidget: Sendable {
    public var value: Double
    public var pending: Bool

    public init(value: Double, pending: Bool) {
        self.value = value
        self.pending = pending
    }

    /// The track's cells for a slider drawn in `area`: where clicks and drags land.
    public static func track(in area: Rect) -> Rect {
        Rect(x: area.x + 1, y: area.y, width: max(0, area.width - 9), height: 1)
    }

    /// The percentage a click at column `x` on `track` means.
    public static func value(atColumn x: Int, track: Rect) -> Double {
        guard track.width > 1 else { return 0 }
        let position = Double(min(max(x, track.x), track.maxX - 1) - track.x) / Double(track.width - 1)
        return (position * 100).rounded()
    }

    public func render(into buffer: inout Buffer, area: Rect, glyphs: Glyphs) {
        let track = Self.track(in: area)
        guard track.width > 2 else { return }
        buffer.write(glyphs.unicode ? "◀" : "<", x: area.x, y: area.y, style: Style(.dim))
        let knob = track.x + Int((value / 100 * Double(track.width - 1)).rounded())
        for x in track.x..<track.maxX {
            if x < knob {
                buffer[x, track.y] = Cell(glyphs.sliderFilled, style: Style(.canary))
            } else if x == knob {
                buffer[x, track.y] = Cell(glyphs.sliderKnob, style: Style(pending ? .warning : .accent, bold: true))
            } else {
                buffer[x, track.y] = Cell(glyphs.sliderTrack, style: Style(.dim))
            }
        }
        buffer.write(glyphs.unicode ? "▶" : ">", x: track.maxX, y: area.y, style: Style(.dim))
        let label = String(format: "%3.0f %%", value) + (pending ? " " + glyphs.pending : "")
        buffer.write(label, x: track.maxX + 2, y: area.y, style: Style(pending ? .warning : .text, bold: true))
    }
}

/// The key hints at the bottom: `R rollback  P promote  q quit`.
public struct HintBar: Sendable {
    public var hints: [(key: String, label: String)]

    public init(hints: [(key: String, label: String)]) {
        self.hints = hints
    }

    public func render(into buffer: inout Buffer, area: Rect) {
        var x = area.x + 1
        for hint in hints {
            let width = CharacterWidth.of(hint.key) + 1 + CharacterWidth.of(hint.label)
            guard x + width <= area.maxX else { break }
            x = buffer.write(hint.key, x: x, y: area.y, style: Style(.hintKey, bold: true))
            x = buffer.write(" " + hint.label, x: x, y: area.y, style: Style(.hint))
            x += 2
        }
    }
}

/// A one-row trend: each value as a block ▁…█ scaled to the largest (`_.-=#`
/// in ASCII). Missing values are blank; the newest is on the right.
public enum SparklineWidget {
    /// `values` folded into `width` cells, each the sum of the values it covers.
    public static func fold(_ values: [Double?], into width: Int) -> [Double?] {
        guard width > 0, values.count > width else { return values }
        var folded: [Double?] = []
        for cell in 0..<width {
            let start = cell * values.count / width
            let end = max(start + 1, (cell + 1) * values.count / width)
            let slice = values[start..<end].compactMap { $0 }
            folded.append(slice.isEmpty ? nil : slice.reduce(0, +))
        }
        return folded
    }

    /// The trend as text `width` cells wide, right-aligned.
    public static func text(_ values: [Double?], width: Int, glyphs: Glyphs) -> String {
        let levels = glyphs.unicode ? ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] : ["_", "_", ".", ".", "-", "-", "=", "#"]
        let shown = fold(values, into: width).suffix(width)
        let maximum = shown.compactMap { $0 }.max() ?? 0
        let cells = shown.map { value -> String in
            guard let value else { return " " }
            return levels[maximum > 0 ? min(levels.count - 1, Int((value / maximum * Double(levels.count - 1)).rounded())) : 0]
        }
        return String(repeating: " ", count: max(0, width - cells.count)) + cells.joined()
    }
}

/// A progress bar with a label: `███░░░ 3/5`.
public struct GaugeWidget: Sendable {
    public var fraction: Double
    public var label: String
    public var style: Style

    public init(fraction: Double, label: String, style: Style) {
        self.fraction = min(1, max(0, fraction))
        self.label = label
        self.style = style
    }

    public func render(into buffer: inout Buffer, area: Rect, glyphs: Glyphs) {
        let barWidth = max(0, area.width - CharacterWidth.of(label) - 1)
        let filled = Int((fraction * Double(barWidth)).rounded())
        var x = buffer.write(String(repeating: glyphs.barFull, count: filled), x: area.x, y: area.y, style: style, clip: area)
        x = buffer.write(String(repeating: glyphs.barEmpty, count: barWidth - filled), x: x, y: area.y, style: Style(.dim), clip: area)
        buffer.write(" " + label, x: x, y: area.y, style: style, clip: area)
    }
}
