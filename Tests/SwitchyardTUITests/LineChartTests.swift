import SwitchyardTUI
import Testing

@Suite("Line charts a tired engineer reads at a glance")
struct LineChartTests {
    @Test func theAxisTopIsARoundNumberJustAboveTheDataAndNeverBelowTheFloor() {
        #expect(LineChart.niceTop(1.1, floor: 2) == 2, "a 1 % error rate is not drawn on a 0–30 % axis")
        #expect(LineChart.niceTop(2.2, floor: 2) == 2.5)
        #expect(LineChart.niceTop(3.3, floor: 2) == 5)
        #expect(LineChart.niceTop(7, floor: 2) == 10)
        #expect(LineChart.niceTop(12, floor: 2) == 20)
        #expect(LineChart.niceTop(870, floor: 10) == 1000)
        #expect(LineChart.niceTop(.infinity, floor: 2) == 2)
        #expect(LineChart.niceTop(0, floor: 0) > 0)
    }

    static func chart(_ stable: [Double?], _ canary: [Double?], threshold: Double? = 2.5, collecting: String? = nil) -> LineChart {
        LineChart(
            series: [
                LineChart.Series(label: "stable gpt-4o@2024-11-20", values: stable, style: Style(.stable)),
                LineChart.Series(label: "canary gpt-4o@2025-05-13", values: canary, style: Style(.canary)),
            ],
            points: 10, floor: 2, threshold: threshold.map { ($0, "gate Δ ≤ +1 pp") }, unit: "%",
            ticks: [(0, "-5m"), (9, "now")], markers: [LineChart.Marker(point: 5, label: "r3")], collecting: collecting
        )
    }

    @Test func aRisingCanaryIsAJoinedLineWithItsLegendTicksThresholdAndTheRevisionThatCausedIt() {
        var buffer = Buffer(width: 60, height: 10)
        let stable: [Double?] = Array(repeating: 1, count: 10)
        let canary: [Double?] = [1, 1, 1, 1, 1, 2, 4, 6, 8, 9]
        Self.chart(stable, canary).render(into: &buffer, area: buffer.area, glyphs: .unicode)
        let lines = buffer.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].contains("━ stable gpt-4o@2024-11-20") && lines[0].contains("━ canary gpt-4o@2025-05-13"), "one legend entry per line")
        #expect(lines[1].hasPrefix("  10%"), "the axis tops out at a round 10 %: \(lines[1])")
        #expect(lines[8].hasPrefix("   0%"))
        #expect(lines[9].contains("-5m") && lines[9].contains("now") && lines[9].contains("▲r3"), "ticks and the revision marker: \(lines[9])")
        #expect(lines.contains { $0.contains("┄") && $0.contains("gate Δ ≤ +1 pp") }, "the gate's own threshold, labelled")
        // Joined: every column of the plot between the first and last sample has a dot of the canary's colour.
        let canaryColumns = Set((0..<buffer.height).flatMap { y in (0..<buffer.width).filter { buffer[$0, y].style.role == .canary && buffer[$0, y].symbol != " " } })
        let plotColumns = Set((LineChart.axisWidth + 2)..<(buffer.width - 1))
        #expect(plotColumns.isSubset(of: canaryColumns), "no gaps between consecutive samples")
        // Rising: the canary's right end is higher than its left.
        let rows = { (x: Int) in (1..<9).filter { buffer[x, $0].style.role == .canary } }
        #expect((rows(buffer.width - 2).min() ?? 99) < (rows(LineChart.axisWidth + 1).min() ?? 0))
    }

    @Test func tooLittleDataSaysSoInsteadOfAnEmptyFrame() {
        var buffer = Buffer(width: 60, height: 8)
        Self.chart([nil, nil, nil, nil, nil, nil, nil, nil, nil, 1], [], threshold: nil, collecting: "collecting — 10 s of 5 min")
            .render(into: &buffer, area: buffer.area, glyphs: .unicode)
        #expect(buffer.text.contains("collecting — 10 s of 5 min"))
    }

    @Test func theASCIIFallbackDrawsStarsJoinedByBars() {
        var buffer = Buffer(width: 40, height: 8)
        Self.chart([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 9]).render(into: &buffer, area: buffer.area, glyphs: .ascii)
        let text = buffer.text
        #expect(text.contains("- stable") && text.contains("^r3") && !text.contains("⠀"))
        let lastColumn = buffer.width - 1
        let marks = (1..<7).map { buffer[lastColumn, $0].symbol }
        #expect(marks.contains("*") && marks.contains("|"), "the jump to 9 % is a bar, not two lone stars: \(marks)")
    }

    @Test func theHalfBlockFallbackJoinsSamplesWithoutBraille() {
        var buffer = Buffer(width: 40, height: 8)
        Self.chart([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 9]).render(into: &buffer, area: buffer.area, glyphs: .blocks)
        let text = buffer.text
        #expect(!text.unicodeScalars.contains { (0x2800...0x28FF).contains($0.value) }, "no braille")
        #expect(text.contains("━ stable"), "the legend stays Unicode")
        let lastColumn = buffer.width - 1
        let cells = (1..<7).map { buffer[lastColumn, $0].symbol }
        #expect(cells.filter { ["█", "▀", "▄"].contains($0) }.count >= 3, "the jump to 9 % is a joined bar of half blocks: \(cells)")
    }
}
