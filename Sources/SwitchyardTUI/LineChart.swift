import Foundation

/// A time chart an engineer reads at a glance: one line per series joining
/// consecutive samples (braille dots, 2×4 per cell; `*` and `|` in ASCII), a
/// legend naming each line in its colour, a y-axis scaled to the visible data
/// with round ticks and a floor, a labelled threshold, a time axis with ticks,
/// and markers for what was done when (a revision, a rollback).
///
/// Layout, top to bottom: the legend row, the plot, the time-axis row. The
/// left `axisWidth` columns hold the y-axis labels.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        /// The legend's words, e.g. `stable gpt-4o@2024-11-20`.
        public var label: String
        /// Oldest first; `nil` where there is no sample.
        public var values: [Double?]
        public var style: Style

        public init(label: String, values: [Double?], style: Style) {
            self.label = label
            self.values = values
            self.style = style
        }
    }

    /// Something that happened at a point of the time axis.
    public struct Marker: Sendable, Hashable {
        /// Index into the series' points (0 = oldest).
        public var point: Int
        public var label: String

        public init(point: Int, label: String) {
            self.point = point
            self.label = label
        }
    }

    public var series: [Series]
    /// How many points the time axis spans; series are right-aligned to it.
    public var points: Int
    /// The y value the chart never scales below (a 1 % error rate is not drawn on a 0.1 % axis).
    public var floor: Double
    public var threshold: (value: Double, label: String)?
    public var unit: String
    /// Tick labels under the plot: (point index, text), e.g. `(0, "-5m")`, `(29, "now")`.
    public var ticks: [(point: Int, text: String)]
    public var markers: [Marker]
    /// Shown in place of the lines while there is too little data, e.g. "collecting — 40 s of 5 min".
    public var collecting: String?
    /// What the chart shows, first on the legend row (`error rate`).
    public var title: String

    public static let axisWidth = 6

    public init(
        series: [Series], points: Int, floor: Double, threshold: (value: Double, label: String)? = nil, unit: String = "",
        ticks: [(point: Int, text: String)] = [], markers: [Marker] = [], collecting: String? = nil, title: String = ""
    ) {
        self.title = title
        self.series = series
        self.points = max(1, points)
        self.floor = floor
        self.threshold = threshold
        self.unit = unit
        self.ticks = ticks
        self.markers = markers
        self.collecting = collecting
    }

    /// The axis top: above every visible value and the threshold, at least
    /// `floor`, rounded up to 1, 2, 2.5 or 5 × 10ⁿ so the ticks read cleanly.
    public static func niceTop(_ value: Double, floor: Double) -> Double {
        let target = max(value.isFinite ? value : 0, floor, 1e-9)
        let magnitude = pow(10, (log10(target)).rounded(.down))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= target * (1 - 1e-12) {
            return step * magnitude
        }
        return 10 * magnitude
    }

    static func tickText(_ value: Double, unit: String) -> String {
        let text: String
        if value == 0 {
            text = "0"
        } else if value >= 100 || value == value.rounded() {
            text = String(format: "%.0f", value)
        } else if value >= 1 {
            text = String(format: "%.1f", value)
        } else {
            text = String(format: "%.2g", value)
        }
        return text + unit
    }

    public func render(into buffer: inout Buffer, area: Rect, glyphs: Glyphs) {
        guard area.width > Self.axisWidth + 4, area.height >= 4 else { return }
        renderLegend(into: &buffer, area: area, glyphs: glyphs)
        let plot = Rect(x: area.x + Self.axisWidth, y: area.y + 1, width: area.width - Self.axisWidth, height: area.height - 2)
        let visible = series.flatMap { $0.values.suffix(points).compactMap { $0 } }.filter(\.isFinite)
        let top = Self.niceTop(max(visible.max() ?? 0, threshold.map { $0.value.isFinite ? $0.value : 0 } ?? 0) * 1.1, floor: floor)
        // The y-axis: the top, half of it (on the nearest row) and zero.
        let middle = plot.maxY - 1 - Int((Double(plot.height - 1) / 2).rounded())
        for (row, value) in [(plot.y, top), (middle, top / 2), (plot.maxY - 1, 0)] where plot.height >= 3 || value != top / 2 {
            let text = Self.tickText(value, unit: unit)
            buffer.write(String(text.prefix(Self.axisWidth - 1)), x: area.x + max(0, Self.axisWidth - 1 - text.count), y: row, style: Style(.dim))
        }
        for y in plot.y..<plot.maxY where buffer[plot.x - 1, y].symbol == " " {
            buffer[plot.x - 1, y] = Cell(glyphs.unicode ? "┤" : "|", style: Style(.dim))
        }
        renderTimeAxis(into: &buffer, plot: plot, glyphs: glyphs)
        let thresholdRow = threshold.flatMap { line -> Int? in
            guard line.value.isFinite else { return nil }
            return plot.maxY - 1 - Int((min(max(line.value, 0), top) / top * Double(plot.height - 1)).rounded())
        }
        if let thresholdRow {
            for x in plot.x..<plot.maxX {
                buffer[x, thresholdRow] = Cell(glyphs.unicode ? "┄" : "-", style: Style(.threshold))
            }
        }
        if let collecting, visible.count < 2 {
            let width = CharacterWidth.of(collecting)
            buffer.write(collecting, x: plot.x + max(0, (plot.width - width) / 2), y: plot.y + plot.height / 2, style: Style(.dim), clip: plot)
        } else {
            for line in series {
                switch glyphs.chart {
                case .braille: renderBraille(line, into: &buffer, plot: plot, top: top)
                case .halfBlocks: renderHalfBlocks(line, into: &buffer, plot: plot, top: top)
                case .ascii: renderASCII(line, into: &buffer, plot: plot, top: top)
                }
            }
        }
        // The threshold's label last, so a line crossing it cannot hide its value.
        if let threshold, let thresholdRow {
            let width = CharacterWidth.of(threshold.label)
            if width + 1 < plot.width {
                buffer.write(threshold.label, x: plot.maxX - width, y: thresholdRow, style: Style(.threshold, bold: true))
            }
        }
    }

    private func renderLegend(into buffer: inout Buffer, area: Rect, glyphs: Glyphs) {
        var x = area.x + Self.axisWidth
        if !title.isEmpty {
            x = buffer.write(title, x: x, y: area.y, style: Style(.header, bold: true), clip: area) + 2
        }
        for line in series where !line.label.isEmpty {
            let entry = (glyphs.unicode ? "━ " : "- ") + line.label
            guard x + CharacterWidth.of(entry) <= area.maxX else {
                buffer.write(CharacterWidth.truncate(entry, to: area.maxX - x), x: x, y: area.y, style: line.style)
                break
            }
            x = buffer.write(entry, x: x, y: area.y, style: line.style) + 2
        }
    }

    /// The column (in dots or cells) of point `index` when `count` columns span `points`.
    func column(ofPoint index: Int, columns: Int) -> Int {
        guard points > 1 else { return columns - 1 }
        return Int((Double(index) * Double(columns - 1) / Double(points - 1)).rounded())
    }

    private func renderTimeAxis(into buffer: inout Buffer, plot: Rect, glyphs: Glyphs) {
        let row = plot.maxY
        var taken = [Bool](repeating: false, count: plot.width)
        func place(_ text: String, at point: Int, style: Style) {
            let center = column(ofPoint: min(max(point, 0), points - 1), columns: plot.width)
            let width = CharacterWidth.of(text)
            let start = min(max(0, center - width / 2), max(0, plot.width - width))
            guard start + width <= plot.width, !taken[start..<(start + width)].contains(true) else { return }
            for index in start..<(start + width) { taken[index] = true }
            buffer.write(text, x: plot.x + start, y: row, style: style)
        }
        // Markers first: what was done matters more than where a tick falls.
        for marker in markers where (0..<points).contains(marker.point) {
            place((glyphs.unicode ? "▲" : "^") + marker.label, at: marker.point, style: Style(.accent, bold: true))
        }
        for tick in ticks {
            place(tick.text, at: tick.point, style: Style(.dim))
        }
    }

    private func values(of line: Series) -> [(point: Int, value: Double)] {
        let shown = Array(line.values.suffix(points))
        let offset = points - shown.count
        return shown.enumerated().compactMap { index, value in
            guard let value, value.isFinite else { return nil }
            return (offset + index, value)
        }
    }

    /// Braille: each sample is a dot, and consecutive samples are joined by a
    /// straight run of dots, so a rising error rate reads as a rising line.
    private func renderBraille(_ line: Series, into buffer: inout Buffer, plot: Rect, top: Double) {
        let dotColumns = plot.width * 2
        let dotRows = plot.height * 4
        var bits = [UInt8](repeating: 0, count: plot.width * plot.height)
        func dot(_ x: Int, _ y: Int) {
            guard x >= 0, x < dotColumns, y >= 0, y < dotRows else { return }
            bits[(y / 4) * plot.width + x / 2] |= Self.brailleBit(column: x % 2, row: y % 4)
        }
        func position(_ sample: (point: Int, value: Double)) -> (Int, Int) {
            let level = Int((min(max(sample.value, 0), top) / top * Double(dotRows - 1)).rounded())
            return (column(ofPoint: sample.point, columns: dotColumns), dotRows - 1 - level)
        }
        var previous: (point: Int, x: Int, y: Int)?
        for sample in values(of: line) {
            let (x, y) = position(sample)
            if let previous, previous.point == sample.point - 1 {
                // Bresenham between the two samples (a gap in the data stays a gap).
                var (x0, y0) = (previous.x, previous.y)
                let dx = abs(x - x0), dy = -abs(y - y0)
                let sx = x0 < x ? 1 : -1, sy = y0 < y ? 1 : -1
                var error = dx + dy
                while true {
                    dot(x0, y0)
                    if x0 == x && y0 == y { break }
                    let doubled = 2 * error
                    if doubled >= dy { error += dy; x0 += sx }
                    if doubled <= dx { error += dx; y0 += sy }
                }
            } else {
                dot(x, y)
            }
            previous = (sample.point, x, y)
        }
        for (cell, pattern) in bits.enumerated() where pattern != 0 {
            let x = plot.x + cell % plot.width
            let y = plot.y + cell / plot.width
            let existing = buffer[x, y].symbol.unicodeScalars.first.map { $0.value >= 0x2800 && $0.value <= 0x28FF ? UInt8($0.value - 0x2800) : 0 } ?? 0
            guard let scalar = UnicodeScalar(0x2800 + UInt32(pattern | existing)) else { continue }
            buffer[x, y] = Cell(String(scalar), style: line.style)
        }
    }

    static func brailleBit(column: Int, row: Int) -> UInt8 {
        // Dot numbering: left column 1,2,3,7; right column 4,5,6,8.
        let left: [UInt8] = [0x01, 0x02, 0x04, 0x40]
        let right: [UInt8] = [0x08, 0x10, 0x20, 0x80]
        return column == 0 ? left[row] : right[row]
    }

    /// Half blocks: each cell is one column by two rows (▀ ▄ █); a rise or
    /// fall to the next sample is filled, so the line stays joined.
    private func renderHalfBlocks(_ line: Series, into buffer: inout Buffer, plot: Rect, top: Double) {
        let rows = plot.height * 2
        var halves = [UInt8](repeating: 0, count: plot.width * plot.height)  // bit 1: top half, bit 2: bottom half
        func mark(_ x: Int, _ y: Int) {
            guard x >= 0, x < plot.width, y >= 0, y < rows else { return }
            halves[(y / 2) * plot.width + x] |= y % 2 == 0 ? 1 : 2
        }
        var previous: (point: Int, x: Int, y: Int)?
        for sample in values(of: line) {
            let x = column(ofPoint: sample.point, columns: plot.width)
            let y = rows - 1 - Int((min(max(sample.value, 0), top) / top * Double(rows - 1)).rounded())
            if let previous, previous.point == sample.point - 1 {
                for fill in min(previous.y, y)...max(previous.y, y) { mark(x, fill) }
                for between in (min(previous.x, x))..<max(previous.x, x) { mark(between, previous.y) }
            }
            mark(x, y)
            previous = (sample.point, x, y)
        }
        for (cell, pattern) in halves.enumerated() where pattern != 0 {
            let symbol = pattern == 3 ? "█" : pattern == 1 ? "▀" : "▄"
            buffer[plot.x + cell % plot.width, plot.y + cell / plot.width] = Cell(symbol, style: line.style)
        }
    }

    /// ASCII: a `*` per sample, and `|` filling the rise or fall to the next one.
    private func renderASCII(_ line: Series, into buffer: inout Buffer, plot: Rect, top: Double) {
        func row(_ value: Double) -> Int {
            plot.maxY - 1 - Int((min(max(value, 0), top) / top * Double(plot.height - 1)).rounded())
        }
        var previous: (point: Int, x: Int, y: Int)?
        for sample in values(of: line) {
            let x = plot.x + column(ofPoint: sample.point, columns: plot.width)
            let y = row(sample.value)
            if let previous, previous.point == sample.point - 1, abs(previous.y - y) > 1 {
                for fill in (min(previous.y, y) + 1)..<max(previous.y, y) where buffer[x, fill].symbol != "*" {
                    buffer[x, fill] = Cell("|", style: line.style)
                }
            }
            buffer[x, y] = Cell("*", style: line.style)
            previous = (sample.point, x, y)
        }
    }
}
