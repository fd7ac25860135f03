import ArgumentParser
import SwitchyardCtl
import Testing

/// ctl's commands as a library: parsed and refused without a server or a process.
@Suite("ctl commands")
struct CtlCommandTests {
    @Test func globalOptionsMayComeBeforeTheSubcommand() {
        #expect(Ctl.globalOptionsLast(["ctl", "--api", "http://x", "routes"]) == ["ctl", "routes", "--api", "http://x"])
        #expect(Ctl.globalOptionsLast(["ctl", "--output=json", "--token", "t", "rollout", "status", "r"]) == ["ctl", "rollout", "status", "r", "--output=json", "--token", "t"])
        #expect(Ctl.globalOptionsLast(["ctl", "routes", "--api", "http://x"]) == ["ctl", "routes", "--api", "http://x"], "already after: unchanged")
        #expect(Ctl.globalOptionsLast(["ctl", "--api"]) == ["ctl", "--api"], "a missing value is left for the parser to refuse")
        #expect(Ctl.globalOptionsLast(["serve", "--api", "x"]) == ["serve", "--api", "x"], "only ctl's options move")
    }

    @Test func commandsParseAndRefuseBadArgumentsBeforeAnyRequest() throws {
        #expect(throws: (any Error).self) { try Ctl.parseAsRoot(["weights", "chat-prod", "stable=eighty"]) }
        #expect(throws: (any Error).self) { try Ctl.parseAsRoot(["audit", "--limit", "0"]) }
        #expect(throws: (any Error).self) { try Ctl.parseAsRoot(["frobnicate"]) }
        let parsed = try Ctl.parseAsRoot(["routes", "--api", "http://127.0.0.1:1", "--output", "json"])
        #expect(String(describing: type(of: parsed)).contains("Routes"))
    }
}
