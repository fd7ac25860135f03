import Foundation
import SwitchyardCore
import SwitchyardTUI

/// The compare screen: a shadow's captured pairs — what the stable deployment
/// answered and what the candidate would have — listed with how alike they
/// are, and one opened side by side with the words that differ marked.
extension ConsoleState {
    func drawCompare(_ buffer: inout Buffer, area: Rect) {
        let route = samples?.route ?? selected?.name ?? ""
        let stale = isStale(.samples) ? " · \(glyphs.stale) " + freshnessText(.samples) : ""
        let title = "Compare · \(route)" + (samples.map { $0.capture > 0 ? " · keeps the newest \($0.capture)" : "" } ?? "") + stale
        let inner = buffer.box(area, title: title, glyphs: glyphs)
        guard let samples else {
            buffer.write(" loading…", x: inner.x, y: inner.y, style: Style(.dim))
            return
        }
        guard samples.capture > 0 else {
            buffer.write(" this shadow keeps no pairs: start it with \"capture\": N (it keeps user content, so it is off by default)", x: inner.x, y: inner.y, style: Style(.dim), clip: inner)
            return
        }
        guard !samples.samples.isEmpty else {
            buffer.write(" no pairs yet: they appear as mirrored requests are compared", x: inner.x, y: inner.y, style: Style(.dim), clip: inner)
            return
        }
        let index = min(sampleIndex, samples.samples.count - 1)
        if sampleOpen {
            drawPair(samples.samples[index], into: &buffer, area: inner)
            return
        }
        let columns = [
            TableWidget.Column("TIME", width: 9), TableWidget.Column("SIMILAR", width: 7, rightAligned: true),
            TableWidget.Column("LATENCY ms", width: 11, rightAligned: true), TableWidget.Column("TOKENS", width: 9, rightAligned: true),
            TableWidget.Column("REQUEST", width: max(10, inner.width - 43)),
        ]
        let rows = samples.samples.map { sample -> [TableWidget.Item] in
            let latency = String(format: "%.0f/", sample.primaryLatencyMs) + (sample.shadowLatencyMs.map { String(format: "%.0f", $0) } ?? "—")
            let role: StyleRole = sample.shadowError != nil ? .bad : sample.similarity < 0.5 ? .warning : .good
            return [
                TableWidget.Item(Self.clockText(Moment(nanoseconds: sample.atMilliseconds * 1_000_000)).suffix(9).description, Style(.dim)),
                TableWidget.Item(sample.shadowError == nil ? String(format: "%.2f", sample.similarity) : "error", Style(role, bold: true)),
                TableWidget.Item(latency),
                TableWidget.Item("\(sample.primaryTokens)/\(sample.shadowTokens)"),
                TableWidget.Item(sample.request.replacingOccurrences(of: "\n", with: " ")),
            ]
        }
        TableWidget(columns: columns, rows: rows, selected: index).render(into: &buffer, area: inner, glyphs: glyphs)
    }

    /// The request across the top, then the two replies in two columns; in
    /// each, the words the other reply does not have are marked.
    private func drawPair(_ sample: ShadowSample, into buffer: inout Buffer, area: Rect) {
        var row = area.y
        let header = "\(String(format: "similarity %.2f", sample.similarity))   latency \(String(format: "%.0f", sample.primaryLatencyMs)) / \(sample.shadowLatencyMs.map { String(format: "%.0f", $0) } ?? "—") ms   tokens \(sample.primaryTokens) / \(sample.shadowTokens)"
        buffer.write(" " + header, x: area.x, y: row, style: Style(.dim), clip: area)
        row += 1
        let requestLines = Self.wrap([(sample.request, .text)], width: area.width - 10).prefix(3)
        for (offset, line) in requestLines.enumerated() {
            if offset == 0 { buffer.write(" request", x: area.x, y: row, style: Style(.header, bold: true)) }
            Self.drawWords(line, into: &buffer, x: area.x + 10, y: row)
            row += 1
        }
        row += 1
        let half = area.width / 2
        let (left, right) = WordDiff.compare(sample.primaryText, sample.shadowError.map { "error: \($0)" } ?? sample.shadowText)
        let panes: [(String, StyleRole, [(String, WordDiff.Change)], Int)] = [
            (sample.primaryDeployment, .stable, left.map { ($0.word, $0.change) }, area.x),
            (sample.shadowDeployment, .canary, right.map { ($0.word, $0.change) }, area.x + half),
        ]
        for (name, role, words, x) in panes {
            buffer.write(" " + name, x: x, y: row, style: Style(role, bold: true))
            let styled = words.map { word, change -> (String, StyleRole) in
                (word, change == .same ? .text : change == .removed ? .bad : .good)
            }
            for (offset, line) in Self.wrap(styled, width: half - 2).prefix(max(0, area.maxY - row - 1)).enumerated() {
                Self.drawWords(line, into: &buffer, x: x + 1, y: row + 1 + offset)
            }
        }
    }

    /// Words laid out in lines of at most `width` cells.
    static func wrap(_ words: [(String, StyleRole)], width: Int) -> [[(String, StyleRole)]] {
        var lines: [[(String, StyleRole)]] = [[]]
        var used = 0
        for (text, role) in words {
            for word in text.split(whereSeparator: \.isWhitespace).map(String.init) {
                let length = CharacterWidth.of(word)
                if used > 0, used + 1 + length > width {
                    lines.append([])
                    used = 0
                }
                lines[lines.count - 1].append((CharacterWidth.truncate(word, to: max(1, width)), role))
                used += (used > 0 ? 1 : 0) + min(length, width)
            }
        }
        return lines
    }

    static func drawWords(_ line: [(String, StyleRole)], into buffer: inout Buffer, x: Int, y: Int) {
        var column = x
        for (index, (word, role)) in line.enumerated() {
            if index > 0 { column += 1 }
            column = buffer.write(word, x: column, y: y, style: Style(role, bold: role != .text, underline: role != .text))
        }
    }
}
