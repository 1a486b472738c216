/// A module's error codes: one enum per module, each case a stable name an operator (or a
/// script reading `--debug`) can rely on; `module` prefixes it (`passthrough.inUse`).
///
/// Case names are the stable part: renaming a case is a breaking change.
public protocol ErrorCode: RawRepresentable, Hashable, Sendable, CaseIterable where RawValue == String {
    /// The module's prefix of the code's stable name (`hostkit`, `passthrough`).
    static var module: String { get }
}

/// What the CLI edge knows of any vgpuctl library's error: the exit status, the stable code, the
/// operator's sentence and the error underneath, as a value. Every module's error
/// (``ModuleError``) is one; the edge catches `any CodedError`.
public protocol CodedError: Error, Sendable, CustomStringConvertible {
    var status: ExitStatus { get }
    /// The stable code, prefixed with its module: `passthrough.inUse`.
    var codeName: String { get }
    /// A sentence for an operator: names the device or path and says what to do.
    var message: String { get }
    /// A short note for `--debug` that is not an error value (a condition, a value read).
    var cause: String? { get }
    /// The error this one explains, kept as a value: a lower module's error, a
    /// ``SystemCallError`` (call, errno, path), a ``KernelError``, a parser's error.
    var underlying: (any Error & Sendable)? { get }
}

/// The one error type, parameterised by each module's code enum: the machinery (factories, the
/// wrapping of a lower module's error, the chain for `--debug`) is written once here.
///
/// ```swift
/// public typealias PassthroughError = ModuleError<PassthroughCode>
/// throw .refused(.inUse, "\(address) is in use: ...")
/// ```
public struct ModuleError<Code: ErrorCode>: CodedError {
    public var code: Code
    public var status: ExitStatus
    public var message: String
    public var cause: String?
    public var underlying: (any Error & Sendable)?

    public init(
        _ code: Code, _ status: ExitStatus, _ message: String, cause: String? = nil,
        underlying: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.status = status
        self.message = message
        self.cause = cause
        self.underlying = underlying
    }

    /// This module's error for a failure in the module below: the same status and message (what
    /// the operator reads does not change), `code` says what this module was doing, and `error`
    /// is kept whole as ``underlying``.
    public init(_ code: Code, wrapping error: some CodedError) {
        self.init(code, error.status, error.message, underlying: error)
    }

    /// Runs `body` (calls into a lower module); its failure becomes this module's error with
    /// `code`, keeping the lower error as ``underlying`` (see ``init(_:wrapping:)``). An error
    /// that is not a ``CodedError`` becomes an operation failure with its description.
    public static func wrapping<T>(_ code: Code, _ body: () throws -> T) throws(ModuleError) -> T {
        do {
            return try body()
        } catch let e as ModuleError {
            throw e
        } catch let e as any CodedError {
            throw ModuleError(code, wrapping: e)
        } catch {
            throw ModuleError(code, .failed, "\(error)", underlying: error)
        }
    }

    public var codeName: String { "\(Code.module).\(code.rawValue)" }

    public var description: String { message }

    /// The failed system call underneath, if any, at any depth of the chain.
    public var systemCall: SystemCallError? { ErrorChain.first(SystemCallError.self, in: self) }

    /// Invalid input: a malformed argument or file (exit 2).
    public static func invalid(
        _ code: Code, _ message: String, cause: String? = nil, underlying: (any Error & Sendable)? = nil
    ) -> ModuleError {
        ModuleError(code, .invalidInput, message, cause: cause, underlying: underlying)
    }

    /// The operation failed (exit 1).
    public static func failed(
        _ code: Code, _ message: String, cause: String? = nil, underlying: (any Error & Sendable)? = nil
    ) -> ModuleError {
        ModuleError(code, .failed, message, cause: cause, underlying: underlying)
    }

    /// The operation failed because system call `error` did (exit 1); `error` is kept as
    /// ``underlying``.
    public static func failed(_ code: Code, _ message: String, _ error: SystemCallError) -> ModuleError {
        ModuleError(code, .failed, message, underlying: error)
    }

    /// Refused because something is in use (exit 4).
    public static func refused(
        _ code: Code, _ message: String, cause: String? = nil, underlying: (any Error & Sendable)? = nil
    ) -> ModuleError {
        ModuleError(code, .refused, message, cause: cause, underlying: underlying)
    }
}

/// The chain of an error and the errors underneath it, for `--debug` and for tests.
public enum ErrorChain {
    /// `error`, its ``CodedError/underlying``, that one's, and so on (at most 32 deep).
    public static func links(_ error: any Error) -> [any Error] {
        var out: [any Error] = [error]
        var current: any Error = error
        while out.count < 32, let coded = current as? any CodedError, let next = coded.underlying {
            out.append(next)
            current = next
        }
        return out
    }

    /// The operator's sentence of `error`: a coded error's ``CodedError/message``, otherwise its
    /// description (for seams whose implementations throw their own module's error).
    public static func message(_ error: any Error) -> String {
        (error as? any CodedError)?.message ?? "\(error)"
    }

    /// The status `error` exits with: a coded error's, otherwise `fallback`.
    public static func status(_ error: any Error, fallback: ExitStatus = .failed) -> ExitStatus {
        (error as? any CodedError)?.status ?? fallback
    }

    /// The first error of type `T` in the chain of `error`.
    public static func first<T: Error>(_: T.Type, in error: any Error) -> T? {
        for link in links(error) { if let t = link as? T { return t } }
        return nil
    }

    /// One line per link: `passthrough.bindFailed (exit 1): <message>`, a system call as
    /// `open(/path): Permission denied (errno 13)`, any other error as `<Type>: <description>`;
    /// a coded error's cause, when it says more than the next link, as `  cause: ...`.
    public static func lines(_ error: any Error) -> [String] {
        let chain = links(error)
        var out: [String] = []
        for (i, link) in chain.enumerated() {
            if let coded = link as? any CodedError {
                out.append("\(coded.codeName) (exit \(coded.status.rawValue)): \(coded.message)")
                if let cause = coded.cause, i + 1 >= chain.count || cause != "\(chain[i + 1])" {
                    out.append("  cause: \(cause)")
                }
            } else if link is SystemCallError || link is KernelError {
                out.append("\(link)")
            } else {
                out.append("\(type(of: link)): \(link)")
            }
        }
        return out
    }
}
