import SwitchyardTUI
import Testing

@Suite("Cells, widths and clipping")
struct BufferTests {
    @Test func wideCharactersTakeTwoCellsAndNeverHangOverTheEdge() {
        var buffer = Buffer(width: 6, height: 1)
        let end = buffer.write("a模型b", x: 0, y: 0)
        #expect(end == 6)
        #expect(buffer.text == "a模型b")
        #expect(buffer[2, 0] == .continuation)
        var narrow = Buffer(width: 4, height: 1)
        narrow.write("ab模", x: 1, y: 0)
        #expect(narrow.text == " ab", "a wide character that would cross the edge is not drawn half")
    }

    @Test func writesOutsideTheClipOrTheBufferAreDropped() {
        var buffer = Buffer(width: 5, height: 2)
        buffer.write("hello world", x: -3, y: 0)
        buffer.write("x", x: 0, y: 7)
        buffer.write("abcdef", x: 1, y: 1, clip: Rect(x: 1, y: 1, width: 3, height: 1))
        #expect(buffer.text == "lo wo\n abc")
        #expect(Buffer(width: -4, height: 3).cells.isEmpty, "a negative size is an empty buffer")
    }

    @Test func combiningMarksHaveNoWidthAndTruncationEndsWithAnEllipsis() {
        #expect(CharacterWidth.of("e\u{301}") == 1)
        #expect(CharacterWidth.of("gpt-4o模") == 8)
        #expect(CharacterWidth.truncate("gpt-4o@2024-11-20", to: 8) == "gpt-4o@…")
        #expect(CharacterWidth.truncate("模型模型", to: 4) == "模…")
        #expect(CharacterWidth.truncate("short", to: 8) == "short")
        #expect(CharacterWidth.truncate("any", to: 0) == "")
    }
}

@Suite("Widgets")
struct WidgetTests {
    @Test func theSelectedRowStaysVisibleWhenTheTableScrolls() {
        #expect(TableWidget.scrollOffset(selected: 0, rows: 50, visible: 10) == 0)
        #expect(TableWidget.scrollOffset(selected: 9, rows: 50, visible: 10) == 0)
        #expect(TableWidget.scrollOffset(selected: 10, rows: 50, visible: 10) == 1)
        #expect(TableWidget.scrollOffset(selected: 49, rows: 50, visible: 10) == 40)
        #expect(TableWidget.scrollOffset(selected: 3, rows: 5, visible: 10) == 0, "no scrolling when everything fits")
        #expect(TableWidget.scrollOffset(selected: 3, rows: 5, visible: 0) == 0)
    }

    @Test func aClickOnTheSliderTrackMeansThePercentAtThatColumnAndTheKnobIsDrawnThere() {
        let area = Rect(x: 0, y: 0, width: 30, height: 1)
        let track = SliderWidget.track(in: area)
        #expect(SliderWidget.value(atColumn: track.x, track: track) == 0)
        #expect(SliderWidget.value(atColumn: track.maxX - 1, track: track) == 100)
        #expect(SliderWidget.value(atColumn: -5, track: track) == 0, "a click left of the track is 0 %")
        #expect(SliderWidget.value(atColumn: 500, track: track) == 100)
        var buffer = Buffer(width: 30, height: 1)
        SliderWidget(value: 50, pending: false).render(into: &buffer, area: area, glyphs: .ascii)
        #expect(buffer.text == "<==========O---------->  50 %")
        let knob = track.x + 10
        #expect(SliderWidget.value(atColumn: knob, track: track) == 50, "the knob sits where a click would set its value")
    }

    @Test func aSparklineFoldsManyValuesIntoItsWidthAndLeavesGapsBlank() {
        #expect(SparklineWidget.fold([1, 2, 3, 4], into: 2) == [3, 7])
        #expect(SparklineWidget.fold([1, nil, nil, nil], into: 2) == [1, nil])
        #expect(SparklineWidget.fold([1, 2], into: 5) == [1, 2], "fewer values than cells are kept as they are")
        #expect(SparklineWidget.text([0, 4, nil, 8], width: 6, glyphs: .ascii) == "  _- #")
        #expect(SparklineWidget.text([], width: 3, glyphs: .unicode) == "   ")
    }
}

@Suite("Tables")
struct TableTests {
    @Test func theSelectedRowIsHighlightedAcrossItsWholeWidthKeepingEachCellsColour() {
        var buffer = Buffer(width: 30, height: 3)
        let table = TableWidget(
            columns: [TableWidget.Column("A", width: 5), TableWidget.Column("B", width: 8)],
            rows: [[TableWidget.Item("one", Style(.text)), TableWidget.Item("canary", Style(.canary))], [TableWidget.Item("two"), TableWidget.Item("x")]],
            selected: 0
        )
        table.render(into: &buffer, area: buffer.area, glyphs: .unicode)
        #expect((0..<30).allSatisfy { buffer[$0, 1].style.highlight }, "no gaps between columns")
        #expect(buffer[7, 1].style.role == .canary, "the canary keeps its colour on the selected row")
        #expect(!(0..<30).contains { buffer[$0, 2].style.highlight })
    }
}
