import Foundation
@testable import JobGateApp
import Testing

/// The live line of `jobgate status --wait` (DESIGN.md §14).
@Suite struct JobStatusLineTests {
    @Test func theLineShowsStatusAndProgress() {
        #expect(JobStatusLine.text(for: ["status": "queued"]) == "queued")
        let running: [String: Any] = ["status": "running", "progress": ["done": 40, "total": 100, "message": "resizing", "at": "x"]]
        #expect(JobStatusLine.text(for: running) == "running 40/100 (40%) resizing")
        #expect(JobStatusLine.text(for: ["status": "running", "progress": ["done": 7, "total": NSNull(), "message": NSNull()]]) == "running 7")
        #expect(JobStatusLine.text(for: ["status": "running", "progress": ["done": 0, "total": 0, "message": ""]]) == "running 0/0")
    }

    @Test func onATerminalTheLineIsRewrittenInPlaceElseWrittenOncePerChange() {
        var tty = JobStatusLine(inPlace: true)
        #expect(tty.update("running 1/10 (10%) long message") == "\rrunning 1/10 (10%) long message")
        #expect(tty.update("running 1/10 (10%) long message") == nil)
        // A shorter line blanks the rest of the longer one.
        #expect(tty.update("completed") == "\rcompleted" + String(repeating: " ", count: 22))
        #expect(tty.end() == "\n")
        var pipe = JobStatusLine(inPlace: false)
        #expect(pipe.update("queued") == "queued\n")
        #expect(pipe.update("queued") == nil)
        #expect(pipe.update("running 2") == "running 2\n")
        #expect(pipe.end() == "")
    }
}
