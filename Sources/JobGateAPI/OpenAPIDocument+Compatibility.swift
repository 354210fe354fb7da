import JobGateHTTP
import JobGateSystem

/// The parts of the document that follow the reference-compatibility settings: the submit's
/// answer in each `ReferenceFormat`, API Gateway's 403 for undefined methods, and the CORS
/// preflight (`OPTIONS`) of every API path when `--cors-origins` is set.
extension OpenAPIDocument {
    /// The 200 of `POST /submit-job-request`.
    static func referenceSubmitted(_ format: ReferenceFormat) -> String {
        switch format {
        case .cdk:
            return ##"{"description":"Submitted (the CDK stack's JSON form of SQS's reply)","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ReferenceSubmitResponse"}}}}"##
        case .sam:
            return ##"{"description":"Submitted: Amazon SQS's SendMessageResponse, as the SAM stack passed it through; MessageId is the job id, MD5OfMessageBody the MD5 of the request body (lowercase hex), RequestId the X-Request-Id","content":{"text/xml":{"schema":{"$ref":"#/components/schemas/SendMessageResponse"}}}}"##
        }
    }

    /// The note on each reference path: what API Gateway answered for a method it does not define.
    static let missingTokenNote = JSONText.quote(
        #"A method this path does not define, sent without an Authorization header, is answered as API Gateway did: 403 {"message":"Missing Authentication Token"} (x-amzn-ErrorType: MissingAuthenticationTokenException; see components/responses/MissingAuthenticationToken). With a token it is 405."#)

    /// Components of the reference formats.
    static let compatibilitySchemas = #"""
    "SendMessageResponse":{"type":"object","xml":{"name":"SendMessageResponse","namespace":"http://queue.amazonaws.com/doc/2012-11-05/"},
      "required":["SendMessageResult","ResponseMetadata"],"properties":{
      "SendMessageResult":{"type":"object","required":["MessageId","MD5OfMessageBody"],"properties":{
        "MessageId":{"type":"string","format":"uuid","description":"The job id"},
        "MD5OfMessageBody":{"type":"string","pattern":"^[0-9a-f]{32}$","description":"MD5 of the request body, lowercase hex"}}},
      "ResponseMetadata":{"type":"object","required":["RequestId"],"properties":{"RequestId":{"type":"string","description":"The request's X-Request-Id"}}}}},
    "MissingAuthenticationToken":{"type":"object","required":["message"],"properties":{"message":{"const":"Missing Authentication Token"}}}
    """#

    static let missingTokenResponse = ##""MissingAuthenticationToken":{"description":"API Gateway's answer to a method a reference path does not define, sent without a token","headers":{"x-amzn-ErrorType":{"schema":{"const":"MissingAuthenticationTokenException"}}},"content":{"application/json":{"schema":{"$ref":"#/components/schemas/MissingAuthenticationToken"}}}}"##

    /// `paths` with an `options` operation on every path of `Router.api`.
    static func withPreflights(_ paths: String) -> String {
        var paths = paths
        var seen: Set<String> = []
        for route in Router.api where seen.insert(route.template).inserted {
            let key = "\(JSONText.quote(route.template)):{"
            guard let at = paths.range(of: key) else { preconditionFailure("\(route.template) is not documented") }
            paths.insert(contentsOf: preflight(route.template, number: seen.count) + ",", at: at.upperBound)
        }
        return paths
    }

    private static func preflight(_ template: String, number: Int) -> String {
        let pathParameters = template.split(separator: "/").filter { $0.first == "{" && $0.last == "}" }.map {
            #"{"name":"# + JSONText.quote(String($0.dropFirst().dropLast())) + #","in":"path","required":true,"schema":{"type":"string"}},"#
        }.joined()
        let header = { (name: String) in #"{"name":""# + name + #"","in":"header","schema":{"type":"string"}}"# }
        let string = #"{"schema":{"type":"string"}}"#
        return #"""
            "options":{"operationId":"corsPreflight\#(number)","summary":"CORS preflight (no token needed): 204 with what this path allows for an allowed Origin, or without Origin","tags":["cors"],"security":[],
              "parameters":[\#(pathParameters)\#(header("Origin")),\#(header("Access-Control-Request-Method")),\#(header("Access-Control-Request-Headers"))],
              "responses":{
                "204":{"description":"Allowed","headers":{"Allow":\#(string),"Access-Control-Allow-Origin":\#(string),"Access-Control-Allow-Methods":\#(string),
                  "Access-Control-Allow-Headers":\#(string),"Access-Control-Max-Age":{"schema":{"type":"integer"}},"Vary":\#(string)}},
                "403":{"description":"The Origin is not one of --cors-origins (cors_origin_not_allowed); no CORS headers","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},
                \#(errors([400]))}}
            """#
    }
}
