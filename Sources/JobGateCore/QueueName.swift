/// The one rule for queue names, wherever one is given (a submit, a job type's `queue`, a
/// worker's `--queues`): 1 to 128 bytes of ASCII letters, digits and `. _ : -`. The same rule
/// in SQL: the CHECK of `job_types.queue` and `jobgate.is_queue_name` (migration 0004, for
/// `jobgate.submit`); SQLSubmitTests checks that they agree.
public enum QueueName {
    /// The longest name, in bytes.
    public static let maxLength = 128

    /// The rule, for error messages.
    public static let rule = "1 to 128 of the letters, digits and . _ : -"

    /// Whether `name` follows the rule.
    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        return (1...maxLength).contains(bytes.count) && bytes.allSatisfy { b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
                || b == 0x2E || b == 0x5F || b == 0x3A || b == 0x2D
        }
    }
}
