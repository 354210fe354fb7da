import CMicroHTTPD
import CShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The libmicrohttpd callbacks. They are plain closures with no captures (so they
// convert to C function pointers) in a file that is not main.swift, so they are
// not main-actor isolated; everything they need comes through `cls` and `con_cls`.

/// Starts libmicrohttpd for `core`. `core` must outlive the daemon (HTTPServer
/// stops the daemon before releasing it), so it is passed unretained.
func startDaemon(core: ServerCore) throws -> OpaquePointer {
    let configuration = core.configuration
    func clamp(_ value: Int) -> UInt32 { UInt32(clamping: max(0, value)) }
    guard (0...65535).contains(configuration.port) else {
        throw HTTPServer.StartError(description: "port \(configuration.port) is out of range")
    }
    var errorBuffer = [CChar](repeating: 0, count: 256)
    let cls = Unmanaged.passUnretained(core).toOpaque()
    let daemon = configuration.host.withCString { host -> OpaquePointer? in
        var options = jobgate_mhd_config(
            host: host,
            port: UInt16(configuration.port),
            thread_pool_size: max(1, clamp(configuration.threadPoolSize)),
            connection_limit: max(1, clamp(configuration.connectionLimit)),
            per_ip_connection_limit: clamp(configuration.effectivePerIPConnectionLimit),
            connection_timeout_seconds: clamp(configuration.connectionTimeoutSeconds),
            connection_memory_limit: max(4096, configuration.connectionMemoryLimit),
            strict_for_client: 0,
            log_sink: configuration.diagnostics == nil ? nil : logSink
        )
        let notifier: MHD_NotifyConnectionCallback? = core.timesHeads ? connectionNotifier : nil
        return jobgate_mhd_start(&options, accessHandler, uriLogger, requestCompleted, notifier, cls, &errorBuffer, errorBuffer.count)
    }
    guard let daemon else {
        let reason = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw HTTPServer.StartError(description: "cannot listen on \(configuration.host):\(configuration.port): \(reason)")
    }
    return daemon
}

/// libmicrohttpd's diagnostics, already formatted by the shim.
private let logSink: jobgate_log_sink = { cls, message in
    guard let cls, let message else { return }
    let core = Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue()
    core.configuration.diagnostics?(String(cString: message))
}

/// First sight of a request: make its context (it becomes `con_cls`).
/// The raw URI is only available here; the access handler gets it decoded.
private let uriLogger: jobgate_uri_log_callback = { cls, uri, connection in
    let core = Unmanaged<ServerCore>.fromOpaque(cls!).takeUnretainedValue()
    let context = RequestContext(rawTarget: uri, remoteAddress: clientAddress(connection))
    core.requestArrived()
    if let connection { core.headEvent(connection) { $0.requestLineReceived($1, at: $2) } }
    return Unmanaged.passRetained(context).toOpaque()
}

/// libmicrohttpd is done with a request (answered, failed or the client left).
private let requestCompleted: MHD_RequestCompletedCallback = { cls, connection, conCls, _ in
    guard let cls else { return }
    let core = Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue()
    if let connection { core.headAnswered(connection) }
    guard let conCls, let raw = conCls.pointee else { return }
    conCls.pointee = nil
    let context = Unmanaged<RequestContext>.fromOpaque(raw).takeRetainedValue()
    core.requestCompleted(context)
}

/// A connection was accepted or is about to be closed (its socket still open).
private let connectionNotifier: MHD_NotifyConnectionCallback = { cls, connection, _, event in
    guard let cls, let connection else { return }
    let core = Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue()
    switch event {
    case .CONNECTION_NOTIFY_STARTED:
        let socket = jobgate_mhd_connection_fd(connection)
        core.headEvent(connection) { $0.opened($1, socket: socket, at: $2) }
    case .CONNECTION_NOTIFY_CLOSED:
        core.headEvent(connection) { deadlines, key, _ in deadlines.closed(key) }
    default:
        break
    }
}

private let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, version, uploadData, uploadDataSize, conCls in
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let core = Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue()
    let context: RequestContext
    if let raw = conCls.pointee {
        context = Unmanaged<RequestContext>.fromOpaque(raw).takeUnretainedValue()
    } else {
        // The URI logger always runs first; this only guards against a libmicrohttpd change.
        context = RequestContext(rawTarget: url, remoteAddress: clientAddress(connection))
        core.requestArrived()
        conCls.pointee = Unmanaged.passRetained(context).toOpaque()
    }
    let methodName = method.map { String(cString: $0) } ?? "GET"
    let chunk = uploadDataSize.pointee > 0 ? UnsafeRawBufferPointer(start: uploadData, count: uploadDataSize.pointee) : nil
    let head = ServerCore.HeadLocation(method: method, target: url, version: version)
    let step = core.accessStep(context, connection: connection, head: head, chunk: chunk)
    uploadDataSize.pointee = 0  // every chunk is consumed (kept or discarded)
    switch step {
    case .continueReading:
        return .YES
    case .closeConnection:
        return .NO
    case .dispatch(let body):
        let request = core.makeRequest(context, method: methodName, body: body)
        context.state.withLock { $0.requestID = request.requestID }
        if let answerNow = core.dispatch(request, context: context, connection: connection) {
            return core.queue(answerNow, context: context, connection: connection)
        }
        return .YES
    case .respond(let response):
        return core.queue(response, context: context, connection: connection)
    }
}

private func clientAddress(_ connection: OpaquePointer?) -> String {
    guard let connection else { return "" }
    var buffer = [CChar](repeating: 0, count: 64)
    guard jobgate_mhd_client_address(connection, &buffer, buffer.count) == 0 else { return "" }
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

extension ServerCore {
    /// Where libmicrohttpd keeps the parts of the request line (pointers into its read buffer).
    struct HeadLocation {
        var method: UnsafePointer<CChar>?
        var target: UnsafePointer<CChar>?
        var version: UnsafePointer<CChar>?
    }

    enum AccessStep {
        case continueReading
        case closeConnection
        case dispatch(body: [UInt8])
        case respond(HTTPResponse)
    }

    static func payloadTooLarge(limit: Int) -> HTTPResponse {
        HTTPResponse.error(status: 413, code: "payload_too_large",
                           message: "The request body is larger than \(limit) bytes.")
    }

    /// Decides what one access-handler call does. Bodies are capped while they
    /// arrive: an announced Content-Length over the cap is answered 413 before any
    /// of the body is read; a chunked body that passes the cap stops being kept,
    /// the rest is drained (up to the cap again, at least 64 KiB, else the
    /// connection is closed) and then answered 413.
    func accessStep(_ context: RequestContext, connection: OpaquePointer, head: HeadLocation,
                    chunk: UnsafeRawBufferPointer?) -> AccessStep {
        let limit = configuration.maxBodyBytes
        return context.state.withLock { state -> AccessStep in
            switch state.phase {
            case .new:
                state.phase = .receiving
                headEvent(connection) { deadlines, key, _ in deadlines.headCompleted(key) }
                let fields = RequestHead.fields(connection)
                state.headers = HTTPHeaders(fields.map { ($0.name, $0.value) })
                if let refusal = ServerCore.refusal(of: context, fields: fields, connection: connection, head: head)
                    ?? ServerCore.refusal(of: state.headers, limit: limit) {
                    // Queued before any body is read: libmicrohttpd then skips the body
                    // and closes the connection after the answer.
                    state.phase = .rejected(discarded: 0)
                    return .respond(refusal)
                }
                return .continueReading
            case .receiving:
                guard let chunk else {
                    let body = state.body
                    state.body = []
                    return .dispatch(body: body)
                }
                if state.body.count + chunk.count > limit {
                    // libmicrohttpd 0.9.75 only accepts a response before the body or
                    // after all of it, so the rest is read and dropped, then 413 is sent.
                    state.body = []
                    state.phase = .rejected(discarded: chunk.count)
                    return .continueReading
                }
                state.body.append(contentsOf: chunk)
                return .continueReading
            case .rejected(let discarded):
                guard let chunk else { return .respond(ServerCore.payloadTooLarge(limit: limit)) }
                // Drop what still comes, but only so much: a client that keeps
                // sending more than the cap again is cut off without an answer.
                let total = discarded + chunk.count
                if total > max(limit, 64 * 1024) { return .closeConnection }
                state.phase = .rejected(discarded: total)
                return .continueReading
            case .handling:
                // Not called while suspended; nothing to do if it happens.
                return .continueReading
            case .ready(let response):
                return .respond(response)
            case .responded:
                return .continueReading
            }
        }
    }

    /// The answer for a request that must not reach the handler, judged on its
    /// headers alone. libmicrohttpd 0.9.75 accepts both Content-Length and
    /// Transfer-Encoding (chunked wins) and several differing Content-Length
    /// fields; both are how requests get smuggled past proxies, so they get a 400.
    static func refusal(of headers: HTTPHeaders, limit: Int) -> HTTPResponse? {
        let lengths = headers.values("Content-Length")
        if !lengths.isEmpty, headers.contains("Transfer-Encoding") {
            return HTTPResponse.error(status: 400, code: "bad_request",
                                      message: "Content-Length and Transfer-Encoding must not be used together.")
        }
        if Set(lengths).count > 1 || lengths.contains(where: { $0.contains(",") }) {
            return HTTPResponse.error(status: 400, code: "bad_request",
                                      message: "Conflicting Content-Length values.")
        }
        if let announced = lengths.first.flatMap({ UInt64($0) }), announced > UInt64(limit) {
            return payloadTooLarge(limit: limit)
        }
        return nil
    }

    /// The 400 for a request whose target, header values or query parameters hold
    /// NUL, CR or LF (RFC 9110 §5.5): libmicrohttpd would hand them over cut at the
    /// NUL, and a handler, a log line or libpq would see another value than was sent.
    static func refusal(of context: RequestContext, fields: [RequestHead.Field], connection: OpaquePointer,
                        head: HeadLocation) -> HTTPResponse? {
        if !RequestHead.targetIsWhole(seenCount: context.rawTargetByteCount, target: head.target, version: head.version) {
            return RequestHead.badTarget
        }
        let headSize = jobgate_mhd_request_head_size(connection)
        if let method = head.method,
           let name = RequestHead.firstUnsafeField(fields, headStart: UInt(bitPattern: method), headSize: headSize) {
            return RequestHead.badHeader(name)
        }
        let rawQuery = HTTPRequest.splitTarget(context.rawTarget).rawQuery
        if let name = RequestHead.firstUnsafeQueryItem(HTTPRequest.parseQuery(rawQuery)) {
            return RequestHead.badQuery(name)
        }
        return nil
    }

    /// Builds the handler's view of the request.
    func makeRequest(_ context: RequestContext, method: String, body: [UInt8]) -> HTTPRequest {
        let headers = context.state.withLock { $0.headers }
        let (path, rawQuery) = HTTPRequest.splitTarget(context.rawTarget)
        return HTTPRequest(method: method, path: path, rawQuery: rawQuery, headers: headers,
                           body: body, remoteAddress: context.remoteAddress)
    }

    /// Turns `response` into a libmicrohttpd response and queues it, adding
    /// `X-Request-Id` (and `Connection: close` while draining).
    func queue(_ response: HTTPResponse, context: RequestContext, connection: OpaquePointer) -> MHD_Result {
        let finish = configuration.finishResponse
        let (requestID, headers) = context.state.withLock { state -> (String, HTTPHeaders?) in
            state.phase = .responded
            if state.requestID.isEmpty {
                // Refused before the handler: still echo the client's id when it is sane.
                state.requestID = HTTPRequest.acceptedRequestID(state.headers["X-Request-Id"])
                    ?? HTTPRequest.generateRequestID()
            }
            return (state.requestID, finish == nil ? nil : state.headers)
        }
        var response = response
        if let finish, let headers {
            finish(HTTPRequest.splitTarget(context.rawTarget).path, headers, &response)
        }
        if !(200...599).contains(response.status) {
            // libmicrohttpd would refuse it and drop the connection; 1xx are not final answers.
            response = HTTPResponse.error(status: 500, code: "internal", message: "The handler returned an invalid status.")
        }
        guard let native = makeNativeResponse(&response) else { return .NO }
        defer { MHD_destroy_response(native) }
        response.headers.set("X-Request-Id", requestID)
        if isDraining { response.headers.set("Connection", "close") }
        for field in response.headers where field.name.lowercased() != "content-length" {
            // libmicrohttpd refuses names or values that could break the header block.
            _ = MHD_add_response_header(native, field.name, field.value)
        }
        return MHD_queue_response(connection, UInt32(clamping: response.status), native)
    }

    /// The libmicrohttpd response for the body; a file that cannot be served
    /// turns `response` into a 500.
    private func makeNativeResponse(_ response: inout HTTPResponse) -> OpaquePointer? {
        switch response.body {
        case .bytes(let bytes):
            return bytes.withUnsafeBytes { buffer in
                MHD_create_response_from_buffer(buffer.count, UnsafeMutableRawPointer(mutating: buffer.baseAddress), .RESPMEM_MUST_COPY)
            }
        case .file(let path, let size):
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            var info = stat()
            if descriptor >= 0, fstat(descriptor, &info) == 0, UInt64(info.st_size) >= size,
               let native = MHD_create_response_from_fd64(size, descriptor) {
                return native  // libmicrohttpd closes the descriptor with the response
            }
            if descriptor >= 0 { close(descriptor) }
            response = HTTPResponse.error(status: 500, code: "file_unavailable", message: "The response body could not be read.")
            return makeNativeResponse(&response)
        }
    }
}
