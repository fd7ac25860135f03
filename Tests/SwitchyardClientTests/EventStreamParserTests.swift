import SwitchyardClient
import Testing

@Suite("The event stream's parser")
struct EventStreamParserTests {
    @Test func eventsSplitWhereverTheBytesAreCut() {
        let stream = Array("id: 1\nevent: snapshot\ndata: {\"routes\":[]}\n\nid: 2\nevent: route\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\n".utf8)
        for cut in 1..<stream.count {
            var parser = EventStreamParser()
            let events = parser.feed(Array(stream[..<cut])) + parser.feed(Array(stream[cut...]))
            #expect(events.map(\.name) == ["snapshot", "route"], "cut at \(cut)")
            #expect(events.last.map { String(decoding: $0.data, as: UTF8.self) } == "{\"a\":1}")
        }
    }
}
